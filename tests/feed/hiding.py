"""Every way a post can be one a viewer may not see, for the tests that hide one (each answered by
`feed.selectors.posts_visible_to`)."""

from django.utils import timezone

from accounts.models import Block, Mute
from feed.models import Post
from generation.models import Generation

HIDDEN_KINDS = [
    "private",
    "followers_only",
    "blocked_by_author",
    "blocks_author",
    "muted",
    "removed",
    "deleted",
    "unpublished",
    "tag_removed",
    "adults_only",  # hides it only from a minor (or anonymous) viewer
]


def hide_post(kind: str, generation: Generation, viewer) -> None:
    """Make `generation` one that `viewer` may not see, as `kind` says (`viewer` does not follow its
    author; for "adults_only", `viewer` is a minor)."""
    if kind == "private":
        Post.objects.filter(pk=generation.pk).update(visibility="private")
    elif kind == "followers_only":
        Post.objects.filter(pk=generation.pk).update(visibility="followers")
    elif kind == "blocked_by_author":
        Block.objects.create(blocker=generation.requester, blocked=viewer)
    elif kind == "blocks_author":
        Block.objects.create(blocker=viewer, blocked=generation.requester)
    elif kind == "muted":
        Mute.objects.create(muter=viewer, muted=generation.requester)
    elif kind == "removed":
        Generation.objects.filter(pk=generation.pk).update(removed_at=timezone.now())
    elif kind == "deleted":
        Generation.objects.filter(pk=generation.pk).update(deleted_at=timezone.now())
    elif kind == "unpublished":
        Generation.objects.filter(pk=generation.pk).update(published_at=None)
    elif kind == "tag_removed":
        Post.objects.filter(pk=generation.pk).update(tag_removed_at=timezone.now())
    elif kind == "adults_only":
        Post.objects.filter(pk=generation.pk).update(adults_only=True)
    else:
        raise AssertionError(kind)
