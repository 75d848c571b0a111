from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from core.realtime import user_group

# Application close codes (4000-4999), so a client can tell "log in again" from a network drop.
CLOSE_NOT_AUTHENTICATED = 4401


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    """One socket per signed-in client at `/ws/`. It joins only its own user's group, so it can only ever
    receive events addressed to that user."""

    group_name: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Closing before accept rejects the handshake (HTTP 403); nothing is joined.
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        self.group_name = user_group(user.pk)
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()
        await self.send_json({"type": "connection.ready", "data": {"user_id": user.pk}})

    async def disconnect(self, code: int) -> None:
        if self.group_name is not None:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # Clients may keep the connection warm; everything else they say is ignored.
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong", "data": {}})

    async def realtime_event(self, message: dict[str, Any]) -> None:
        await self.send_json(message["event"])
