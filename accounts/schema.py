"""Teaches drf-spectacular our access-token authentication (a SimpleJWT bearer scheme)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class AccessTokenScheme(SimpleJWTScheme):
    target_class = "accounts.authentication.AccessTokenAuthentication"
    name = "bearerAuth"
