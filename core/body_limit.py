"""Request bodies are bounded before anything reads them.

Django's ASGI handler reads a whole request body into a spool file before any view, authentication or
size check runs, so without this an anonymous client could make the server spool any number of bytes.
`RequestBodyLimitMiddleware` wraps the Django ASGI app and, per route:

- refuses a declared `Content-Length` over the route's limit with 413 before reading a byte;
- counts a streamed (chunked) body as it arrives and stops at the limit: the app is told the client went
  away (so it never reads past the limit) and the client gets the 413;
- on routes that take large bodies (uploads), refuses a request without valid credentials with 401 before
  reading its body, so only an authenticated user can make the server spool megabytes.

A route's limit is its view's `request_body_limit()` (a static method: the upload routes declare theirs,
and need credentials), or REQUEST_BODY_MAX_BYTES for everything else (JSON bodies). The answers use the
API's error shape.
"""

import json
from collections.abc import Awaitable, Callable
from importlib import import_module
from types import SimpleNamespace
from typing import Any, NamedTuple

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.urls import Resolver404, resolve

from core.errors import CoreError
from core.exceptions import error_body

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
# Turns a raw access token into its user, or None (the accounts app's function, passed in by the project).
TokenAuthenticator = Callable[[str], Any]


class RouteLimit(NamedTuple):
    max_bytes: int
    # An upload route (its view declares its own limit): its body is read only for a signed-in client.
    needs_credentials: bool


def route_body_limit(path: str) -> RouteLimit:
    """How large a request body to `path` may be, and whether it needs credentials before it is read."""
    try:
        match = resolve(path)
    except Resolver404:
        return RouteLimit(settings.REQUEST_BODY_MAX_BYTES, needs_credentials=False)
    declared = getattr(getattr(match.func, "view_class", None), "request_body_limit", None)
    if callable(declared):
        return RouteLimit(int(declared()), needs_credentials=True)
    return RouteLimit(settings.REQUEST_BODY_MAX_BYTES, needs_credentials=False)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if raw is None:
        return None
    for part in raw.decode("latin1").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


async def _send_error(send: Send, status: int, body: dict[str, Any]) -> None:
    content = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


def too_large_body(limit: int) -> dict[str, Any]:
    return error_body(
        CoreError.REQUEST_TOO_LARGE,
        f"The request body is larger than the {limit} bytes this endpoint takes.",
        {"limit_bytes": limit},
    )


class RequestBodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticate_token: TokenAuthenticator,
        limit_for: Callable[[str], RouteLimit] = route_body_limit,
    ) -> None:
        self.app = app
        self.limit_for = limit_for
        self._user_for_token = sync_to_async(authenticate_token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"
        limit, needs_credentials = self.limit_for(path)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await _send_error(send, 413, too_large_body(limit))
            return
        if needs_credentials and not await self._authenticated(scope):
            await _send_error(
                send,
                401,
                error_body(CoreError.NOT_AUTHENTICATED, "Authentication credentials were not provided."),
            )
            return

        received = 0
        exceeded = False
        response_started = False

        async def limited_receive() -> dict[str, Any]:
            nonlocal received, exceeded
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True  # the app hears that the client left, and reads nothing more
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: dict[str, Any]) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, limited_receive, tracked_send)
        if exceeded and not response_started:
            await _send_error(send, 413, too_large_body(limit))

    async def _authenticated(self, scope: Scope) -> bool:
        """Whether the request carries valid credentials: a bearer token, or a session cookie of an
        active user (the same two ways the API authenticates)."""
        authorization = (_header(scope, b"authorization") or b"").decode("latin1")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return await self._user_for_token(token.strip()) is not None
        session_key = _cookie(scope, settings.SESSION_COOKIE_NAME)
        if session_key:
            return await sync_to_async(_session_user_is_active)(session_key)
        return False


def _session_user_is_active(session_key: str) -> bool:
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=store))  # get_user reads only `request.session`
    return bool(user.is_authenticated and user.is_active)
