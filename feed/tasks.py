"""Thin tasks: primitive ids in, one service call, safe to deliver twice. The `feed.embed_*` tasks run on
the cpu queue (sora_social/settings/celery.py), where the text encoder is loaded; `feed.rank_for_you`
on the default queue (numpy only)."""

from celery import shared_task

from feed.ranking import embedding, refresh


@shared_task(
    name="feed.embed_post",
    acks_late=True,
    time_limit=120,
    soft_time_limit=100,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=3,
)
def embed_post_task(post_id: int) -> None:
    embedding.post_embed(post_id=post_id)


@shared_task(
    name="feed.embed_steering",
    acks_late=True,
    time_limit=120,
    soft_time_limit=100,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=3,
)
def embed_steering_task(user_id: int) -> None:
    embedding.steering_embed(user_id=user_id)


@shared_task(name="feed.rank_for_you", acks_late=True, time_limit=60, soft_time_limit=50)
def rank_for_you_task(viewer_id: int) -> None:
    refresh.ranking_refresh(viewer_id=viewer_id)
