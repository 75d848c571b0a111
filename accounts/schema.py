"""Teaches drf-spectacular our authentications: the access token (a SimpleJWT bearer scheme), and the
restricted access token of an account kept out by a moderation decision."""

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AccessTokenScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.AccessTokenAuthentication"
    name = "bearerAuth"


class RestrictedAccessScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.RestrictedAccessAuthentication"
    name = "restrictedAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Restricted <token>`: `extra.restricted_token` of an `account_banned` or "
            "`account_suspended` sign-in refusal; opens only the account's decisions and appeals.",
        }
