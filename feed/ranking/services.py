"""For You's first page (which keeps a ranking), and the writes a viewer makes to their For You: a steering
text, and "see less like this" on a post. Each write drops the viewer's kept ranking, so it takes effect at
their next first page (a snapshot being scrolled keeps its order)."""

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from accounts.models import User
from core.exceptions import ApplicationError
from core.tasks import enqueue_on_commit
from feed.errors import FeedError
from feed.models import FeedSteering, Post, SeeLess
from feed.ranking import snapshot
from feed.ranking.selectors import for_you_ranking, ranked_page
from feed.ranking.steering import parse_steering
from feed.selectors import post_get_visible
from feed.tasks import embed_steering_task, rank_for_you_task


def for_you_page(*, viewer: User, cursor: str | None, size: int) -> tuple[list[int], str | None]:
    """The post ids of a page of `viewer`'s For You, which they may see, and the cursor of the next (None
    at the end).

    Without a cursor, the page is the start of the viewer's kept ranking (`feed.ranking.snapshot`) while it
    is younger than `FEED_FOR_YOU_KEEP_S`; once it is older than `FEED_FOR_YOU_REFRESH_S`, a worker ranks
    afresh for the next first page (stale while revalidating: a viewer who was here within the day reads a
    ranking rather than computing one, which is most of a first page's cost). With none kept, it ranks
    here and keeps it. With a cursor, the page is the next slice of the ranking the cursor names, so pages
    never overlap or skip while posts arrive. Either way a post hidden or watched since the ranking is left
    out."""
    if cursor is None:
        ranking = _ranking_for_first_page(viewer)
        snapshot_id, post_ids, offset = ranking.snapshot_id, ranking.post_ids, 0
    else:
        snapshot_id, offset = snapshot.decode_cursor(cursor)
        post_ids = snapshot.snapshot_load(viewer_id=viewer.pk, snapshot_id=snapshot_id)
    page, consumed = ranked_page(viewer=viewer, post_ids=post_ids, offset=offset, size=size)
    next_cursor = snapshot.encode_cursor(snapshot_id, consumed) if consumed < len(post_ids) else None
    return page, next_cursor


def _ranking_for_first_page(viewer: User) -> snapshot.Ranking:
    ranking = snapshot.ranking_current(viewer_id=viewer.pk)
    if ranking is None or ranking.age_s >= settings.FEED_FOR_YOU_KEEP_S:
        return snapshot.ranking_store(viewer_id=viewer.pk, post_ids=for_you_ranking(viewer=viewer))
    # One refresh asked per kept ranking (again after FEED_FOR_YOU_REFRESH_S if no worker answered).
    if ranking.age_s >= settings.FEED_FOR_YOU_REFRESH_S and cache.add(
        f"feed:for-you:{viewer.pk}:refreshing:{ranking.snapshot_id}",
        True,
        timeout=settings.FEED_FOR_YOU_REFRESH_S,
    ):
        enqueue_on_commit(rank_for_you_task, viewer.pk)
    return ranking


def _forget_ranking(user: User) -> None:
    """Drop `user`'s kept ranking now and again once the write commits: a first page ranked in between
    (before the write was visible) would otherwise be kept without it."""
    snapshot.ranking_forget(viewer_id=user.pk)
    transaction.on_commit(lambda: snapshot.ranking_forget(viewer_id=user.pk))


@transaction.atomic
def steering_set(*, user: User, text: str) -> FeedSteering:
    """Set `user`'s steering text, parsed into "more" and "less" terms (`parse_steering`); their vectors are
    computed after the commit (`feed.embed_steering`), and until then ranking has no steering term. Refused
    when the text names nothing to see more or less of."""
    parsed = parse_steering(text)
    if parsed.is_empty:
        raise ApplicationError(
            FeedError.STEERING_UNPARSED,
            f"Nothing to steer by in {text!r:.80}: write what you want more or less of, e.g. "
            "'more animals, less sports'.",
            status=400,
        )
    steering = FeedSteering.objects.select_for_update().filter(user=user).first()
    if steering is not None and steering.text == text:
        return steering  # the same text again: its vectors stand
    steering = steering or FeedSteering(user=user)
    steering.text = text
    steering.more, steering.less = list(parsed.more), list(parsed.less)
    steering.full_clean()
    steering.save()
    enqueue_on_commit(embed_steering_task, user.pk)
    _forget_ranking(user)
    return steering


@transaction.atomic
def steering_clear(*, user: User) -> None:
    """Remove `user`'s steering text; their feed ranks without one from the next fresh page. Idempotent."""
    FeedSteering.objects.filter(user=user).delete()
    _forget_ranking(user)


@transaction.atomic
def post_see_less(*, user: User, post_id: int) -> None:
    """`user` wants less like a post they may see: its author and its topic (its hashtags, and posts near
    its vector) rank lower in their For You, and the post itself leaves it. Idempotent; "not found" for a
    post they may not see."""
    generation = post_get_visible(viewer=user, post_id=post_id)
    post: Post = generation.post
    SeeLess.objects.update_or_create(
        user=user, post=post, defaults={"author_id": generation.requester_id, "hashtags": post.hashtags}
    )
    _forget_ranking(user)
