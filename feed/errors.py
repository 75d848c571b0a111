"""The error codes of the feed (posts, interactions, feeds). See core.errors."""

from enum import StrEnum


class FeedError(StrEnum):
    POST_NOT_FOUND = "post_not_found"
    TAG_REMOVED = "tag_removed"
    INVALID_CURSOR = "invalid_cursor"
    COMMENT_NOT_FOUND = "comment_not_found"
    COMMENTS_DISABLED = "comments_disabled"
    REPLY_TO_REPLY = "reply_to_reply"
    CURSOR_EXPIRED = "cursor_expired"
    STEERING_UNPARSED = "steering_unparsed"
    COMMENT_TO_MINOR_NOT_ALLOWED = "comment_to_minor_not_allowed"
    NOTIFICATION_NOT_FOUND = "notification_not_found"
    POST_NOT_PUBLIC = "post_not_public"
