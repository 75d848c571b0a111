"""Writes a viewer makes to their For You: a steering text, and "see less like this" on a post. Each takes
effect at the viewer's next fresh first page (a snapshot being scrolled keeps its order)."""

from django.db import transaction

from accounts.models import User
from core.exceptions import ApplicationError
from core.tasks import enqueue_on_commit
from feed.errors import FeedError
from feed.models import FeedSteering, Post, SeeLess
from feed.ranking.steering import parse_steering
from feed.selectors import post_get_visible
from feed.tasks import embed_steering_task


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
    return steering


@transaction.atomic
def steering_clear(*, user: User) -> None:
    """Remove `user`'s steering text; their feed ranks without one from the next fresh page. Idempotent."""
    FeedSteering.objects.filter(user=user).delete()


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
