"""Writes of notifications. Each is made inside the transaction of the action that caused it (so an action
that rolls back leaves none) and pushed to the recipient's socket after commit as a `notification` event
`{"notification": <the recipient's view>, "unread_count": n}`. The view is read after the commit, so it
shows what the recipient may see once the action is visible (a post is published later in the transaction
that announces it).

Likes are aggregated: one notification per (recipient, post) whose actor is the latest liker and whose
`actor_count` counts the likers the recipient hears from. A like announces it again (unread, moved to the
top, pushed) only when it takes the count past its highest so far (`data["peak"]`), so liking and unliking
over and over never re-announces it; an unlike only recounts it, quietly."""

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from cameos.models import Cameo, CameoAccessRequest
from core.realtime import push_to_user, push_to_user_on_commit
from feed.models import Comment, Notification, NotificationKind, Post
from feed.notifications.selectors import (
    likers_admitted,
    notification_get,
    notification_unread_count,
    notifications_for,
    post_is_visible_to,
    sender_may_notify,
)
from feed.notifications.serializers import NotificationSerializer
from generation.models import Generation

logger = logging.getLogger(__name__)

NOTIFICATION_EVENT = "notification"
NOTIFICATIONS_READ_EVENT = "notification.read"


def _push(*, recipient_id: int, notification_id: int) -> None:
    recipient = User.objects.get(pk=recipient_id)
    notification = notifications_for(recipient=recipient).filter(pk=notification_id).first()
    if notification is None:  # hidden since it was made (a block, a mute, every like taken back)
        return
    data = {
        "notification": NotificationSerializer(notification).data,
        "unread_count": notification_unread_count(recipient=recipient),
    }
    push_to_user(user_id=recipient_id, event_type=NOTIFICATION_EVENT, data=data)


def _push_on_commit(notification: Notification) -> None:
    """Like `core.realtime.push_to_user_on_commit`, but the payload is read after the commit (see the
    module). Robust: reading it cannot fail the committed action; the push itself is best-effort."""
    recipient_id, notification_id = notification.recipient_id, notification.pk
    transaction.on_commit(
        lambda: _push(recipient_id=recipient_id, notification_id=notification_id), robust=True
    )


def _create(*, recipient: User, kind: str, actor: User | None = None, **fields: Any) -> Notification:
    notification = Notification.objects.create(
        recipient=recipient, kind=kind, actor=actor, notified_at=timezone.now(), **fields
    )
    _push_on_commit(notification)
    return notification


def _notify_once(*, recipient: User, kind: str, actor: User, video: Generation, **fields: Any) -> None:
    """One notification of `kind` about `video` per recipient: a repeat (a video published again) is
    not announced twice."""
    if not sender_may_notify(actor=actor, recipient=recipient):
        return
    if Notification.objects.filter(recipient=recipient, kind=kind, video=video).exists():
        return
    _create(recipient=recipient, kind=kind, actor=actor, video=video, **fields)


def _cameo_owners(generation: Generation) -> list[tuple[User, Cameo | None]]:
    uses = generation.cameo_uses.select_related("owner", "cameo").order_by("pk")
    seen: dict[int, tuple[User, Cameo | None]] = {}
    for use in uses:
        if use.owner_id != generation.requester_id:
            seen.setdefault(use.owner_id, (use.owner, use.cameo))
    return list(seen.values())


@transaction.atomic
def notify_cameo_used_in_draft(*, generation: Generation) -> None:
    """Each owner of a cameo in someone else's finished video hears that their likeness was used (the
    draft is in their appearances). Called when the render is stored (`generation_succeeded`)."""
    for owner, cameo in _cameo_owners(generation):
        _notify_once(
            recipient=owner,
            kind=NotificationKind.CAMEO_USED_IN_DRAFT,
            actor=generation.requester,
            video=generation,
            cameo=cameo,
        )


@transaction.atomic
def notify_cameo_used_in_post(*, generation: Generation) -> None:
    """Each owner of a cameo in a video being published by someone else hears that it is posted (once per
    video, however often it is published again)."""
    for owner, cameo in _cameo_owners(generation):
        _notify_once(
            recipient=owner,
            kind=NotificationKind.CAMEO_USED_IN_POST,
            actor=generation.requester,
            video=generation,
            cameo=cameo,
        )


def _notify_about_access(*, request: CameoAccessRequest, kind: str, actor: User, recipient: User) -> None:
    if sender_may_notify(actor=actor, recipient=recipient):
        _create(
            recipient=recipient, kind=kind, actor=actor, cameo=request.cameo, data={"request_id": request.pk}
        )


@transaction.atomic
def notify_access_requested(*, request: CameoAccessRequest) -> None:
    """The cameo's owner hears that someone asks to use it (unless either blocked the other)."""
    _notify_about_access(
        request=request,
        kind=NotificationKind.ACCESS_REQUESTED,
        actor=request.requester,
        recipient=request.cameo.owner,
    )


@transaction.atomic
def notify_access_granted(*, request: CameoAccessRequest) -> None:
    """Whoever asked hears that the owner let them use the cameo."""
    _notify_about_access(
        request=request,
        kind=NotificationKind.ACCESS_GRANTED,
        actor=request.cameo.owner,
        recipient=request.requester,
    )


@transaction.atomic
def notify_follow(*, follower: User, followee: User) -> None:
    """`followee` hears of a new follower, once per follower (following again after an unfollow is not
    announced twice)."""
    if not sender_may_notify(actor=follower, recipient=followee):
        return
    if Notification.objects.filter(recipient=followee, kind=NotificationKind.FOLLOW, actor=follower).exists():
        return
    _create(recipient=followee, kind=NotificationKind.FOLLOW, actor=follower)


@transaction.atomic
def notify_comment(*, comment: Comment) -> None:
    """A reply tells the author of the comment it answers (`reply`); any comment tells the post's author
    (`comment`), unless they already heard of it as a reply. Nobody hears of a post they may not see."""
    author = comment.author
    post_author = comment.post.generation.requester
    recipients = []
    if comment.parent is not None:
        recipients.append((comment.parent.author, NotificationKind.REPLY))
    if comment.parent is None or comment.parent.author_id != post_author.pk:
        recipients.append((post_author, NotificationKind.COMMENT))
    for recipient, kind in recipients:
        if sender_may_notify(actor=author, recipient=recipient) and post_is_visible_to(
            viewer=recipient, post_id=comment.post_id
        ):
            _create(recipient=recipient, kind=kind, actor=author, video_id=comment.post_id, comment=comment)


def _like_aggregate_recount(*, post: Post, announce: bool) -> None:
    recipient = post.generation.requester
    likes = likers_admitted(recipient=recipient, post_id=post.pk)
    count = likes.count()
    latest_like = likes.select_related("user").first()
    latest = latest_like.user if latest_like is not None else None
    aggregate = (
        Notification.objects.select_for_update()
        .filter(recipient=recipient, kind=NotificationKind.LIKE, video_id=post.pk)
        .first()
    )
    if aggregate is None:
        if announce and count and recipient.is_active:
            _create(
                recipient=recipient,
                kind=NotificationKind.LIKE,
                actor=latest,
                actor_count=count,
                video_id=post.pk,
                data={"peak": count},
            )
        return
    aggregate.actor_count = count
    if latest is not None:
        aggregate.actor = latest
    fields = ["actor", "actor_count", "updated_at"]
    if announce and count > aggregate.data.get("peak", 0):
        aggregate.data = {**aggregate.data, "peak": count}
        aggregate.read_at, aggregate.notified_at = None, timezone.now()
        fields += ["data", "read_at", "notified_at"]
        _push_on_commit(aggregate)
    aggregate.save(update_fields=fields)


@transaction.atomic
def notify_like(*, post: Post) -> None:
    """A like was added to `post` (its row locked by the caller, which orders this per post): its author's
    like aggregate names the latest liker they hear from and counts them all; announced again only past its
    highest count so far (see the module)."""
    _like_aggregate_recount(post=post, announce=True)


@transaction.atomic
def like_aggregate_recount(*, post: Post) -> None:
    """A like was taken back: the aggregate is recounted quietly (at 0 it is hidden, and kept so that a
    like again is not announced twice)."""
    _like_aggregate_recount(post=post, announce=False)


@transaction.atomic
def notify_moderation_decision(
    *,
    recipient_id: int,
    decision_id: int,
    target_type: str,
    target_id: str,
    action: str,
    rule: str,
    reason: str,
    strike: bool,
    suspended_until: str | None,
) -> None:
    """Tell the person a moderation decision is about what was decided, under which rule and why; never
    who decided. Moderation notices pass every sender rule (there is no sender)."""
    recipient = User.objects.get(pk=recipient_id)
    _create(
        recipient=recipient,
        kind=NotificationKind.MODERATION_DECISION,
        data={
            "decision_id": decision_id,
            "target_type": target_type,
            "target_id": target_id,
            "action": action,
            "rule": rule,
            "reason": reason,
            "strike": strike,
            "suspended_until": suspended_until,
        },
    )


@transaction.atomic
def notify_report_outcome(*, recipient_id: int, report_id: int, outcome: str) -> None:
    """Tell a reporter how their report ended (actioned or dismissed), never who decided."""
    recipient = User.objects.get(pk=recipient_id)
    _create(
        recipient=recipient,
        kind=NotificationKind.REPORT_OUTCOME,
        data={"report_id": report_id, "outcome": outcome},
    )


@transaction.atomic
def notify_appeal_decided(
    *, recipient_id: int, appeal_id: int, decision_id: int, outcome: str, reply: str
) -> None:
    """Tell the person who appealed a decision how the appeal ended (upheld: the decision is reversed; or
    denied) with the moderators' reply; never who decided."""
    recipient = User.objects.get(pk=recipient_id)
    _create(
        recipient=recipient,
        kind=NotificationKind.APPEAL_DECIDED,
        data={"appeal_id": appeal_id, "decision_id": decision_id, "outcome": outcome, "reply": reply},
    )


def _push_read_on_commit(*, recipient: User, notification_id: int | None) -> None:
    """Tells the recipient's other devices what was read, and the new unread count."""
    push_to_user_on_commit(
        user_id=recipient.pk,
        event_type=NOTIFICATIONS_READ_EVENT,
        data={
            "notification_id": notification_id,
            "unread_count": notification_unread_count(recipient=recipient),
        },
    )


@transaction.atomic
def notification_mark_read(*, recipient: User, notification_id: int) -> Notification:
    """Mark one of `recipient`'s notifications read (again: no change)."""
    notification = notification_get(recipient=recipient, notification_id=notification_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
        _push_read_on_commit(recipient=recipient, notification_id=notification.pk)
    return notification


@transaction.atomic
def notifications_mark_all_read(*, recipient: User) -> int:
    """Mark every notification of `recipient` read; returns how many were unread."""
    marked = Notification.objects.filter(recipient=recipient, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    if marked:
        _push_read_on_commit(recipient=recipient, notification_id=None)
    return marked
