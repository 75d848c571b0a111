"""Reads of notifications, and the one rule for who may notify whom.

A notification from a person reaches its recipient only if the recipient would hear from them now: not
themselves, an active account, no block either way, not muted by the recipient, and for a recipient under 18
(or of unknown age) only someone they follow and who follows them back. The last rule is the project's teen
rule for words from strangers (`cameos.services._is_stranger_to_a_minor`): ages are self-declared, so an
"adult stranger" cannot be told from any stranger. Moderation notices have no actor and always pass. The
rule is applied when a notification is made and again when the list is read, so a later block or mute
hides what that person caused."""

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Block, Follow, Mute, User
from core.exceptions import ApplicationError
from feed.errors import FeedError
from feed.models import Like, Notification
from feed.selectors import posts_visible_to


def senders_admitted(recipient: User, field: str) -> Q:
    """Rows whose `field` (a user id) is someone `recipient` may hear from now (see the module)."""
    sender = OuterRef(field)
    admitted = (
        ~Q(**{field: recipient.pk})
        & Q(Exists(User.objects.filter(pk=sender, is_active=True)))
        & ~Q(Exists(Block.objects.filter(blocker=recipient, blocked=sender)))
        & ~Q(Exists(Block.objects.filter(blocker=sender, blocked=recipient)))
        & ~Q(Exists(Mute.objects.filter(muter=recipient, muted=sender)))
    )
    if recipient.is_minor:
        admitted &= Q(Exists(Follow.objects.filter(follower=recipient, followee=sender))) & Q(
            Exists(Follow.objects.filter(follower=sender, followee=recipient))
        )
    return admitted


def sender_may_notify(*, actor: User, recipient: User) -> bool:
    """Whether `actor` may notify `recipient` now (one query)."""
    if not recipient.is_active:
        return False
    return User.objects.filter(pk=actor.pk).filter(senders_admitted(recipient, "pk")).exists()


def post_is_visible_to(*, viewer: User, post_id: int) -> bool:
    return posts_visible_to(viewer).filter(pk=post_id).exists()


def likers_admitted(*, recipient: User, post_id: int) -> QuerySet[Like]:
    """The likes of a post from people `recipient` hears from, newest first: what the like aggregate
    counts and names."""
    return (
        Like.objects.filter(post_id=post_id)
        .filter(senders_admitted(recipient, "user"))
        .order_by("-created_at", "-pk")
    )


def _shown_to(recipient: User) -> QuerySet[Notification]:
    """`recipient`'s notifications that they may see now: from someone they still hear from (or nobody),
    and not an aggregate whose likes were all taken back."""
    return Notification.objects.filter(recipient=recipient, actor_count__gt=0).filter(
        Q(actor__isnull=True) | senders_admitted(recipient, "actor")
    )


def notifications_for(*, recipient: User, unread_only: bool = False) -> QuerySet[Notification]:
    """`recipient`'s notifications that they may see now, each with what its view shows: the actor, the
    comment, and `video_visible` (whether the post it is about is one `recipient` may still see; the view
    leaves the post out otherwise). One query whatever the page size."""
    notifications = _shown_to(recipient)
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.select_related("actor", "comment").annotate(
        video_visible=Exists(posts_visible_to(recipient).filter(pk=OuterRef("video_id")))
    )


def notification_unread_count(*, recipient: User) -> int:
    return _shown_to(recipient).filter(read_at__isnull=True).count()


def notification_get(*, recipient: Any, notification_id: int) -> Notification:
    """One of `recipient`'s notifications that they may see, else "not found" (anyone else's too)."""
    notification = notifications_for(recipient=recipient).filter(pk=notification_id).first()
    if notification is None:
        raise ApplicationError(
            FeedError.NOTIFICATION_NOT_FOUND, f"You have no notification {notification_id}.", status=404
        )
    return notification
