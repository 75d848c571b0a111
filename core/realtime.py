"""Pushing events to a user's open sockets. Any process (web or worker) may call these.

A push is best-effort: the channel layer (Redis) may be down, and nothing that already happened (a committed
job, a stored video) may be undone or failed because its announcement could not be delivered. A failed push
is logged and dropped; clients catch up from the API when they reconnect (docs/ARCHITECTURE.md, "Realtime")."""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

logger = logging.getLogger(__name__)


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


async def apush_to_user(*, user_id: int, event_type: str, data: dict[str, Any]) -> None:
    try:
        await get_channel_layer().group_send(user_group(user_id), _message(event_type, data))
    except Exception as exc:
        logger.warning("push %s to user %s dropped: %r", event_type, user_id, exc)
