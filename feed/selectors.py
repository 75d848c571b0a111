"""Reads of the feed. For now one list: published videos, newest first, as `viewer` may see them."""

from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import blocked_user_ids, muted_user_ids
from generation.models import Generation
from generation.selectors import published_generations


def feed_for_user(*, viewer: User) -> QuerySet[Generation]:
    """Published videos still up, without those of people blocked either way or muted by `viewer`."""
    hidden = blocked_user_ids(viewer) | muted_user_ids(viewer)
    return (
        published_generations()
        .exclude(requester_id__in=hidden)
        .select_related("requester", "remix_of__requester")
        .prefetch_related("cameo_uses__owner")
    )
