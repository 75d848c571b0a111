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
# A user's credential fingerprint, computed from the user row the handshake authenticated: it changes
# whenever every credential issued before must stop working (logout everywhere, password change,
# deactivation, deletion, suspension); None when the account may not sign in at all.
CredentialFingerprint = Callable[[Any], str | None]
# The same fingerprint read afresh for a user id (None as well when the user no longer exists).
CurrentCredentialFingerprint = Callable[[int], str | None]


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


class CredentialFingerprintMiddleware(BaseMiddleware):
    """Puts in the scope what a long-lived socket needs to notice a revocation it was not told about:
    `credential_fingerprint`, taken from the very row the handshake authenticated (so a revocation that
    commits between the handshake and the consumer joining its group still shows), and
    `current_credential_fingerprint`, an awaitable reading it afresh for a user id."""

    def __init__(
        self,
        inner: Any,
        fingerprint: CredentialFingerprint,
        current_fingerprint: CurrentCredentialFingerprint,
    ) -> None:
        super().__init__(inner)
        self._fingerprint = fingerprint
        self._current_fingerprint = database_sync_to_async(current_fingerprint)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if user is not None and user.is_authenticated:
            scope = dict(
                scope,
                credential_fingerprint=self._fingerprint(user),
                current_credential_fingerprint=self._current_fingerprint,
            )
        return await super().__call__(scope, receive, send)


def WebSocketAuthMiddleware(
    inner: Any,
    *,
    authenticate_token: TokenAuthenticator,
    credential_fingerprint: CredentialFingerprint,
    current_credential_fingerprint: CurrentCredentialFingerprint,
) -> Any:
    return AuthMiddlewareStack(
        BearerTokenMiddleware(
            CredentialFingerprintMiddleware(inner, credential_fingerprint, current_credential_fingerprint),
            authenticate_token,
        )
    )


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
