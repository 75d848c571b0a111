"""Authentication and origin checks for WebSocket handshakes.

Native clients send `Authorization: Bearer <access token>` (the same token as the REST API) and no Origin;
browsers use their session cookie and always send Origin, which must then be one of ours, so another site
cannot open a socket with the visitor's cookies.
"""

from collections.abc import Callable
from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host

# Turns a raw access token into its user, or None when the token is not valid now. `core` knows no user
# model: the project's ASGI module passes the accounts app's function in.
TokenAuthenticator = Callable[[str], Any]


class BearerTokenMiddleware(BaseMiddleware):
    def __init__(self, inner: Any, authenticate_token: TokenAuthenticator) -> None:
        super().__init__(inner)
        self._user_for_token = database_sync_to_async(
            lambda raw_token: authenticate_token(raw_token) or AnonymousUser()
        )

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        headers = dict(scope.get("headers", []))
        authorization = headers.get(b"authorization", b"").decode("latin1")
        if authorization:
            scheme, _, token = authorization.partition(" ")
            # A bearer header always decides; a bad token is not silently replaced by the cookie's user.
            user = await self._user_for_token(token.strip()) if scheme.lower() == "bearer" else AnonymousUser()
            scope = dict(scope, user=user)
        return await super().__call__(scope, receive, send)


def WebSocketAuthMiddleware(inner: Any, *, authenticate_token: TokenAuthenticator) -> Any:
    return AuthMiddlewareStack(BearerTokenMiddleware(inner, authenticate_token))


class WebSocketOriginValidator(OriginValidator):
    """A present Origin must name one of our hosts (same rules as Django's ALLOWED_HOSTS, any port) or be
    listed exactly in WEBSOCKET_ALLOWED_ORIGINS; a missing one is allowed (see the module docstring)."""

    def __init__(self, application: Any) -> None:
        super().__init__(application, list(settings.WEBSOCKET_ALLOWED_ORIGINS))

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True  # not a browser: no ambient cookies to abuse, the bearer token must authenticate
        if parsed_origin.hostname and validate_host(parsed_origin.hostname, settings.ALLOWED_HOSTS):
            return True
        return f"{parsed_origin.scheme}://{parsed_origin.netloc}" in self.allowed_origins
