from django.core.exceptions import ImproperlyConfigured

from .base import DEBUG, SECRET_KEY
from .env import env

# "dev-insecure…" was the development default published in this repository before installs made their own.
if not DEBUG and (SECRET_KEY.startswith("dev-insecure") or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to 50+ random characters when DJANGO_DEBUG=false"
    )

# Behind a TLS-terminating proxy in production; these are all off in the embedded default (plain HTTP).
_https = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=_https)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000 if _https else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=_https)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Health probes come from the orchestrator over plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# The bearer token Prometheus scrapes /metrics with; unset, only a DEBUG process serves them (core/health.py).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
CSRF_FAILURE_VIEW = "core.exceptions.csrf_failure"
