"""The recipient's view of a notification, the same in the list and in the socket push. A notification about
a post the recipient may no longer see (unpublished, taken down, its audience narrowed, a block) keeps its
kind, actor and text but leaves the post and the comment out."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from feed.models import Notification, NotificationKind

_VIDEO_KINDS = {NotificationKind.CAMEO_USED_IN_DRAFT, NotificationKind.CAMEO_USED_IN_POST}

_TEXT = {
    NotificationKind.CAMEO_USED_IN_DRAFT: "{actor} made a video with your cameo",
    NotificationKind.CAMEO_USED_IN_POST: "{actor} posted a video with your cameo",
    NotificationKind.ACCESS_REQUESTED: "{actor} asked to use your cameo",
    NotificationKind.ACCESS_GRANTED: "{actor} approved your request to use their cameo",
    NotificationKind.COMMENT: "{actor} commented on your video",
    NotificationKind.REPLY: "{actor} replied to your comment",
    NotificationKind.FOLLOW: "{actor} started following you",
}

# What a decision did, said to the person it is about (the moderator is never named).
_DECISION_TEXT = {
    "remove_content": "Your video was removed for breaking the rule: {rule}",
    "age_restrict": "Your video was marked for adults only under the rule: {rule}",
    "warn": "You received a warning for breaking the rule: {rule}",
    "suspend": "Your account is suspended until {until} for breaking the rule: {rule}",
    "ban": "Your account was banned for breaking the rule: {rule}",
    "reject_cameo": "Your cameo was rejected after review",
}

_APPEAL_TEXT = {
    "upheld": "Your appeal was upheld: the decision is reversed",
    "denied": "Your appeal was reviewed and the decision stands",
}

_REPORT_TEXT = {
    "actioned": "Thanks for your report: we reviewed it and took action",
    "dismissed": "Thanks for your report: we reviewed it and found no rule broken",
}


def notification_text(notification: Notification) -> str:
    """One line for the notification, e.g. "maya and 12 others liked your video" (a like aggregate names
    its latest liker and counts the rest)."""
    actor = notification.actor.username if notification.actor else "Someone"
    data = notification.data
    if notification.kind == NotificationKind.LIKE:
        others = notification.actor_count - 1
        if others <= 0:
            return f"{actor} liked your video"
        return f"{actor} and {others} {'other' if others == 1 else 'others'} liked your video"
    if notification.kind == NotificationKind.MODERATION_DECISION:
        template = _DECISION_TEXT.get(data.get("action", ""), "A moderator decided on your {target}")
        until = (data.get("suspended_until") or "")[:10]
        return template.format(rule=data.get("rule", ""), until=until, target=data.get("target_type", ""))
    if notification.kind == NotificationKind.REPORT_OUTCOME:
        return _REPORT_TEXT.get(data.get("outcome", ""), "Your report was reviewed")
    if notification.kind == NotificationKind.APPEAL_DECIDED:
        return _APPEAL_TEXT.get(data.get("outcome", ""), "Your appeal was reviewed")
    return _TEXT[NotificationKind(notification.kind)].format(actor=actor)


class NotificationSerializer(serializers.Serializer):
    """A notification as its recipient sees it. Expects a row from
    `feed.notifications.selectors.notifications_for` (it carries `video_visible`)."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=NotificationKind.choices)
    text = serializers.SerializerMethodField()
    actor = serializers.CharField(
        source="actor.username", allow_null=True, help_text="Who: a username; None for moderation notices."
    )
    actor_display_name = serializers.CharField(source="actor.display_name", allow_null=True)
    actor_count = serializers.IntegerField(
        help_text="How many people it stands for: a like collects every liker of the post, 1 otherwise."
    )
    post_id = serializers.SerializerMethodField()
    appearance_id = serializers.SerializerMethodField()
    comment_id = serializers.SerializerMethodField()
    comment_text = serializers.SerializerMethodField()
    cameo_id = serializers.IntegerField(allow_null=True)
    access_request_id = serializers.SerializerMethodField()
    # A moderation notice (kind `moderation_decision`; `appeal_decided` carries decision_id too); None on
    # every other kind.
    decision_id = serializers.SerializerMethodField()
    target_type = serializers.SerializerMethodField()
    target_id = serializers.SerializerMethodField()
    action = serializers.SerializerMethodField()
    rule = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField()
    strike = serializers.SerializerMethodField()
    suspended_until = serializers.SerializerMethodField()
    # A report's outcome (kind `report_outcome`), or an appeal's (`appeal_decided`, with the reply); None on
    # every other kind.
    report_id = serializers.SerializerMethodField()
    appeal_id = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField()
    reply = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()
    read_at = serializers.DateTimeField(allow_null=True)
    notified_at = serializers.DateTimeField(
        help_text="When it last reached you; the list is newest first by it."
    )
    created_at = serializers.DateTimeField()

    def get_text(self, notification: Notification) -> str:
        return notification_text(notification)

    @extend_schema_field(
        serializers.IntegerField(allow_null=True, help_text="The post it is about, while you may see it.")
    )
    def get_post_id(self, notification: Notification) -> int | None:
        return notification.video_id if self._shows_post(notification) else None

    @extend_schema_field(
        serializers.IntegerField(
            allow_null=True,
            help_text="For a use of your cameo: the video, as listed in your cameo's appearances.",
        )
    )
    def get_appearance_id(self, notification: Notification) -> int | None:
        return notification.video_id if notification.kind in _VIDEO_KINDS else None

    def _shows_post(self, notification: Notification) -> bool:
        return bool(getattr(notification, "video_visible", False))

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_comment_id(self, notification: Notification) -> int | None:
        return notification.comment_id if self._shows_post(notification) else None

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="While you may see its post."))
    def get_comment_text(self, notification: Notification) -> str | None:
        if notification.comment is None or not self._shows_post(notification):
            return None
        return notification.comment.text

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_access_request_id(self, notification: Notification) -> int | None:
        return notification.data.get("request_id")

    def _decision(self, notification: Notification, key: str) -> Any:
        if notification.kind == NotificationKind.APPEAL_DECIDED and key == "decision_id":
            return notification.data.get(key)
        if notification.kind != NotificationKind.MODERATION_DECISION:
            return None
        return notification.data.get(key)

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_decision_id(self, notification: Notification) -> int | None:
        return self._decision(notification, "decision_id")

    @extend_schema_field(
        serializers.CharField(allow_null=True, help_text="What was decided on: video, cameo, account, ...")
    )
    def get_target_type(self, notification: Notification) -> str | None:
        return self._decision(notification, "target_type")

    @extend_schema_field(
        serializers.CharField(allow_null=True, help_text="Its id (a username for an account).")
    )
    def get_target_id(self, notification: Notification) -> str | None:
        return self._decision(notification, "target_id")

    @extend_schema_field(
        serializers.CharField(
            allow_null=True, help_text="remove_content, warn, suspend, ban, reject_cameo, ..."
        )
    )
    def get_action(self, notification: Notification) -> str | None:
        return self._decision(notification, "action")

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="The rule that was broken."))
    def get_rule(self, notification: Notification) -> str | None:
        return self._decision(notification, "rule")

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="The moderator's reason, to you."))
    def get_reason(self, notification: Notification) -> str | None:
        return self._decision(notification, "reason")

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_strike(self, notification: Notification) -> bool | None:
        return self._decision(notification, "strike")

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_suspended_until(self, notification: Notification) -> str | None:
        return self._decision(notification, "suspended_until")

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_report_id(self, notification: Notification) -> int | None:
        if notification.kind != NotificationKind.REPORT_OUTCOME:
            return None
        return notification.data.get("report_id")

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_appeal_id(self, notification: Notification) -> int | None:
        if notification.kind != NotificationKind.APPEAL_DECIDED:
            return None
        return notification.data.get("appeal_id")

    @extend_schema_field(
        serializers.CharField(
            allow_null=True, help_text="A report's: actioned or dismissed; an appeal's: upheld or denied."
        )
    )
    def get_outcome(self, notification: Notification) -> str | None:
        if notification.kind not in (NotificationKind.REPORT_OUTCOME, NotificationKind.APPEAL_DECIDED):
            return None
        return notification.data.get("outcome")

    @extend_schema_field(serializers.CharField(allow_null=True, help_text="The moderators' reply to your appeal."))
    def get_reply(self, notification: Notification) -> str | None:
        if notification.kind != NotificationKind.APPEAL_DECIDED:
            return None
        return notification.data.get("reply")

    @extend_schema_field(serializers.BooleanField())
    def get_read(self, notification: Notification) -> bool:
        return notification.read_at is not None
