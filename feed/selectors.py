"""Reads of the feed. For now one list: published videos, newest first, as `viewer` may see them."""

from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import muted_user_ids
from generation.models import Generation
from generation.selectors import published_generations_visible_to


def feed_for_user(*, viewer: User) -> QuerySet[Generation]:
    """Published videos still up that `viewer` may see (the generation app's one visibility rule: blocks
    either way with the requester or with any cameo owner in a video hide it), without those of people
    `viewer` muted."""
    return (
        published_generations_visible_to(viewer)
        .exclude(requester_id__in=muted_user_ids(viewer))
        .select_related("requester", "remix_of__requester")
        .prefetch_related("cameo_uses__owner")
    )
