import asyncio
import contextlib
import logging
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from core.realtime import CLOSE_FORBIDDEN, CLOSE_NOT_AUTHENTICATED, user_group

logger = logging.getLogger(__name__)

# RFC 6455 "internal error": the channel layer (Redis) failed. The client reconnects with backoff and fetches
# what it missed from the API (docs/ARCHITECTURE.md, "Realtime").
CLOSE_INTERNAL_ERROR = 1011


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    """One socket per signed-in client at `/ws/`. It joins only its own user's group, so it can only ever
    receive events addressed to that user.

    A revocation (logout everywhere, password change, deactivation, deletion, suspension) closes it twice
    over: `core.realtime.user_sockets_close` sends a `realtime.close` message to the group, and the socket
    re-checks the credentials it opened with (see `core.websocket_auth.CredentialFingerprintMiddleware`)
    before delivering each event and every `WEBSOCKET_CREDENTIAL_RECHECK_SECONDS`, so a socket that missed
    the message stops as well."""

    user_id: int
    group_name: str | None = None
    _recheck: asyncio.Task | None = None
    accepted = False
    _closing = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        except Exception:
            # The channel layer failed while this socket listened on it: close it properly (1011) rather than
            # drop the TCP connection without a close frame.
            logger.warning("socket closed with 1011: the channel layer failed", exc_info=True)
            if self.accepted and not self._closing:
                await send({"type": "websocket.close", "code": CLOSE_INTERNAL_ERROR})

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Closing before accept rejects the handshake (HTTP 403); nothing is joined.
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        self.user_id = user.pk
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
        # Joined first, checked second: a revocation that committed after the handshake authenticated either
        # reaches this socket through the group or shows in this check.
        close_code = await self._revoked_close_code()
        if close_code is not None:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)
            self.group_name = None
            await self.close(code=close_code)
            return
        await self.accept()
        self.accepted = True
        await self.send_json({"type": "connection.ready", "data": {"user_id": user.pk}})
        self._recheck = asyncio.create_task(self._recheck_periodically())

    async def disconnect(self, code: int) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recheck
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
        if self._closing:
            return
        close_code = await self._revoked_close_code()
        if close_code is not None:
            await self._close_once(close_code)
            return
        await self.send_json(message["event"])

    async def realtime_close(self, message: dict[str, Any]) -> None:
        """Sent by `core.realtime.user_sockets_close`: say why, then close with the application code."""
        if self._closing:
            return
        await self.send_json({"type": "connection.closed", "data": {"reason": message["reason"]}})
        await self._close_once(message["code"])

    async def _close_once(self, code: int) -> None:
        """Events and close messages already queued keep arriving until the client is gone; a socket is
        closed once (a second close frame is a protocol error)."""
        if not self._closing:
            self._closing = True
            await self.close(code=code)

    async def _revoked_close_code(self) -> int | None:
        """None while the credentials that opened this socket still hold; else the code to close with.
        Fails closed: a scope without the fingerprints (not built by the project's middleware) cannot be
        re-checked, so it is not kept open."""
        opened_with = self.scope.get("credential_fingerprint")
        current_fingerprint = self.scope.get("current_credential_fingerprint")
        if opened_with is None or current_fingerprint is None:
            return CLOSE_NOT_AUTHENTICATED
        current = await current_fingerprint(self.user_id)
        if current is None:
            return CLOSE_FORBIDDEN
        return None if current == opened_with else CLOSE_NOT_AUTHENTICATED

    async def _recheck_periodically(self) -> None:
        """Idle sockets receive no events to re-check on; this catches them too. A re-check that fails
        (database unreachable) closes the socket: one whose credentials cannot be checked is not kept."""
        while True:
            await asyncio.sleep(settings.WEBSOCKET_CREDENTIAL_RECHECK_SECONDS)
            try:
                close_code = await self._revoked_close_code()
            except Exception:
                logger.exception("socket credential re-check failed for user %s", self.user_id)
                close_code = CLOSE_INTERNAL_ERROR
            if close_code is not None:
                await self._close_once(close_code)
                return
