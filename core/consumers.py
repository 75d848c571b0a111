import logging
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core.realtime import user_group

logger = logging.getLogger(__name__)

# Application close codes (4000-4999), so a client can tell "log in again" from a network drop.
CLOSE_NOT_AUTHENTICATED = 4401
# RFC 6455 "internal error": the channel layer (Redis) failed. The client reconnects with backoff and fetches
# what it missed from the API (docs/ARCHITECTURE.md, "Realtime").
CLOSE_INTERNAL_ERROR = 1011


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    """One socket per signed-in client at `/ws/`. It joins only its own user's group, so it can only ever
    receive events addressed to that user."""

    group_name: str | None = None
    accepted = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            # The channel layer failed while this socket listened on it: close it properly (1011) rather than
            # drop the TCP connection without a close frame.
            logger.warning("socket closed with 1011: the channel layer failed", exc_info=True)
            if self.accepted:
                await send({"type": "websocket.close", "code": CLOSE_INTERNAL_ERROR})

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Closing before accept rejects the handshake (HTTP 403); nothing is joined.
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        try:
            await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        except Exception:
            # The handshake is accepted only to say why it ends: a close code needs an open socket, and a
            # refused handshake (HTTP 500/403) would read as "not allowed" rather than "try again later".
            logger.warning("socket closed with 1011: joining the channel layer failed", exc_info=True)
            await self.accept()
            await self.close(code=CLOSE_INTERNAL_ERROR)
            return
        self.group_name = user_group(user.pk)
        await self.accept()
        self.accepted = True
        await self.send_json({"type": "connection.ready", "data": {"user_id": user.pk}})

    async def disconnect(self, code: int) -> None:
        if self.group_name is not None:
            try:
                await self.channel_layer.group_discard(self.group_name, self.channel_name)
            except Exception:  # the layer is down; its group membership expires by itself
                logger.warning("socket left without leaving its group", exc_info=True)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Clients may keep the connection warm; everything else they say is ignored.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong", "data": {}})

    async def realtime_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])
