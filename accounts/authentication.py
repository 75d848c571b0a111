"""Tokens: issued with the user's token version, refused once that version moves on.

Shared by the REST API (`AccessTokenAuthentication`) and the WebSocket handshake (`user_for_access_token`);
open sockets re-check `current_credential_fingerprint` so that a revocation reaches them too.
"""

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core import signing
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken, TokenError
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken, Token

from accounts.errors import AccountError
from accounts.models import User

TOKEN_VERSION_CLAIM = "tv"


def token_is_revoked(*, user: User, token: Token) -> bool:
    return token.get(TOKEN_VERSION_CLAIM) != user.token_version


def refresh_token_for(user: User) -> RefreshToken:
    """A new refresh token (its `.access_token` is the matching access token) for `user`."""
    token = RefreshToken.for_user(user)
    token[TOKEN_VERSION_CLAIM] = user.token_version
    return token


def user_may_sign_in(user: Any) -> bool:
    """Active and not suspended: what login (password or session), token refresh and every request ask.
    simplejwt's `USER_AUTHENTICATION_RULE` (login and refresh) and the session backend both call it."""
    return user is not None and user.is_active and not user.is_suspended()


class AccountBackend(ModelBackend):
    """Django's model backend, refusing suspended accounts as it refuses inactive ones: password login
    and every session-authenticated request (the session's user is looked up through here)."""

    def user_can_authenticate(self, user: Any) -> bool:
        return user_may_sign_in(user)


class AccessTokenAuthentication(JWTAuthentication):
    def get_user(self, validated_token: Token) -> Any:
        user: User = super().get_user(validated_token)  # type: ignore[assignment] # our user model, not TokenUser
        if token_is_revoked(user=user, token=validated_token):
            raise AuthenticationFailed("Token has been revoked.", code=AccountError.TOKEN_REVOKED)
        if user.is_suspended():
            raise AuthenticationFailed(
                f"This account is suspended until {user.suspended_until:%Y-%m-%d %H:%M} UTC.",
                code=AccountError.ACCOUNT_SUSPENDED,
            )
        return user


def user_for_access_token(raw_token: str) -> User | None:
    """The active user an access token speaks for, or None if the token is invalid, expired or revoked."""
    try:
        token = AccessToken(raw_token)  # type: ignore[arg-type]
        user = User.objects.get(pk=token["user_id"], is_active=True)
    except (TokenError, InvalidToken, KeyError, ValueError, TypeError, User.DoesNotExist):
        return None
    return None if token_is_revoked(user=user, token=token) or user.is_suspended() else user


def credential_fingerprint(user: User) -> str | None:
    """What this user row says about every credential issued to it: changes with the password, with the
    token version (logout everywhere, password change, deactivation) and with the session auth hash (which
    covers both, see `User._get_session_auth_hash`); None when the account may not sign in at all."""
    if not user_may_sign_in(user):
        return None
    return user.get_session_auth_hash()


def current_credential_fingerprint(user_id: int) -> str | None:
    """`credential_fingerprint` read afresh; None as well when the user no longer exists."""
    user = (
        User.objects.filter(pk=user_id)
        .only("pk", "password", "token_version", "is_active", "suspended_until")
        .first()
    )
    return None if user is None else credential_fingerprint(user)


RESTRICTED_ACCESS_SALT = "accounts.restricted-access"
RESTRICTED_ACCESS_MAX_AGE_S = 3600


def restricted_access_token(user: User) -> str:
    """A token for an account that a moderation decision keeps out (banned, or suspended), handed to whoever
    proved they hold it when sign-in is refused: it opens only the views that list
    `RestrictedAccessAuthentication` (the account's moderation decisions and its appeals), for an hour,
    while the decision stands and until the token version moves on."""
    return signing.dumps({"uid": user.pk, "tv": user.token_version}, salt=RESTRICTED_ACCESS_SALT)


def _kept_out(user: User) -> bool:
    return user.banned_at is not None or (user.is_active and user.is_suspended())


class RestrictedAccessAuthentication(BaseAuthentication):
    """`Authorization: Restricted <token>` (`restricted_access_token`): a banned or suspended account on the
    few views that accept it, so that the decisions keeping it out can still be read and appealed."""

    keyword = "Restricted"

    def authenticate(self, request: Request) -> tuple[User, None] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        refused = AuthenticationFailed(
            "Restricted access token is invalid or expired.", code=AccountError.TOKEN_NOT_VALID
        )
        if len(header) != 2:
            raise refused
        try:
            payload = signing.loads(
                header[1].decode("ascii"), salt=RESTRICTED_ACCESS_SALT, max_age=RESTRICTED_ACCESS_MAX_AGE_S
            )
            user = User.objects.filter(pk=int(payload["uid"])).first()
        except (signing.BadSignature, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
            raise refused from exc
        if user is None or user.token_version != payload.get("tv") or not _kept_out(user):
            raise refused
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
