"""Pushing events to a user's open sockets, and closing them. Any process (web or worker) may call these.

A push is best-effort: the channel layer (Redis) may be down, and nothing that already happened (a committed
job, a stored video) may be undone or failed because its announcement could not be delivered. A failed push
is logged and dropped; clients catch up from the API when they reconnect (docs/ARCHITECTURE.md, "Realtime")."""

import logging
from enum import StrEnum
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# Application close codes (4000-4999), so a client can tell "log in again" from "this account may not be
# used now" from a network drop.
CLOSE_NOT_AUTHENTICATED = 4401  # no valid credentials, or the ones that opened the socket were revoked
CLOSE_FORBIDDEN = 4403  # the account may not use the app now: deactivated, deleted, suspended or banned


class SocketCloseReason(StrEnum):
    """Why every socket of a user is being closed; sent to the client before the close frame."""

    LOGGED_OUT_EVERYWHERE = "logged_out_everywhere"
    PASSWORD_CHANGED = "password_changed"
    ACCOUNT_DEACTIVATED = "account_deactivated"
    ACCOUNT_DELETED = "account_deleted"
    SUSPENDED = "suspended"
    BANNED = "banned"


CLOSE_CODE_FOR_REASON = {
    SocketCloseReason.LOGGED_OUT_EVERYWHERE: CLOSE_NOT_AUTHENTICATED,
    SocketCloseReason.PASSWORD_CHANGED: CLOSE_NOT_AUTHENTICATED,
    SocketCloseReason.ACCOUNT_DEACTIVATED: CLOSE_FORBIDDEN,
    SocketCloseReason.ACCOUNT_DELETED: CLOSE_FORBIDDEN,
    SocketCloseReason.SUSPENDED: CLOSE_FORBIDDEN,
    SocketCloseReason.BANNED: CLOSE_FORBIDDEN,
}


def user_group(user_id: int) -> str:
    """The channel-layer group every socket of one user joins, and nothing else joins."""
    return f"user.{int(user_id)}"


def _message(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "realtime.event",
        "event": {"type": event_type, "data": data, "sent_at": timezone.now().isoformat()},
    }


def push_to_user(*, user_id: int, event_type: str, data: dict[str, Any]) -> None:
    """Deliver `{type, data, sent_at}` to every socket the user has open. Fire-and-forget: offline users
    get nothing here (durable notifications are stored separately), and a channel layer that fails is logged,
    never raised to the caller."""
    try:
        async_to_sync(get_channel_layer().group_send)(user_group(user_id), _message(event_type, data))
    except Exception as exc:  # any failure of the layer (connection refused, timeout, full): the push is dropped
        # One line, no traceback: while Redis is down every progress push fails the same way.
        logger.warning("push %s to user %s dropped: %r", event_type, user_id, exc)


def push_to_user_on_commit(*, user_id: int, event_type: str, data: dict[str, Any]) -> None:
    """`push_to_user` once the current transaction commits (at once outside one): a change that rolls back
    tells nobody about itself."""
    transaction.on_commit(lambda: push_to_user(user_id=user_id, event_type=event_type, data=data))


async def apush_to_user(*, user_id: int, event_type: str, data: dict[str, Any]) -> None:
    try:
        await get_channel_layer().group_send(user_group(user_id), _message(event_type, data))
    except Exception as exc:
        logger.warning("push %s to user %s dropped: %r", event_type, user_id, exc)


def user_sockets_close(*, user_id: int, reason: SocketCloseReason) -> None:
    """Close every socket the user has open, with the close code for `reason`, once the current transaction
    commits (at once outside one). The caller has already revoked what opened them (token version, session
    hash, account standing): a socket that misses this message still stops, at its next credential
    re-check (core/consumers.py). A moderation suspension calls this with `SocketCloseReason.SUSPENDED`."""
    reason = SocketCloseReason(reason)
    message = {"type": "realtime.close", "code": CLOSE_CODE_FOR_REASON[reason], "reason": str(reason)}

    def send() -> None:
        async_to_sync(get_channel_layer().group_send)(user_group(user_id), message)

    # Robust: the revocation has committed whatever happens here; a channel layer that is down must not
    # turn it into an error (the consumers' re-check closes the sockets instead). Django logs the failure.
    transaction.on_commit(send, robust=True)
