"""Pushing events to a user's open sockets. Any process (web or worker) may call these."""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone


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
    get nothing here (durable notifications are stored separately)."""
    async_to_sync(get_channel_layer().group_send)(user_group(user_id), _message(event_type, data))


def push_to_user_on_commit(*, user_id: int, event_type: str, data: dict[str, Any]) -> None:
    """`push_to_user` once the current transaction commits (at once outside one): a change that rolls back
    tells nobody about itself."""
    transaction.on_commit(lambda: push_to_user(user_id=user_id, event_type=event_type, data=data))


async def apush_to_user(*, user_id: int, event_type: str, data: dict[str, Any]) -> None:
    await get_channel_layer().group_send(user_group(user_id), _message(event_type, data))
