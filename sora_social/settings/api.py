from datetime import timedelta

from core.keys import derive_key_text

from .base import SECRET_KEY
from .env import env

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.AccessTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: form encodings quietly turn "" into "not sent"; upload endpoints opt in to multipart.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "core.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_THROTTLE_RATES": {
        # Auth endpoints are the brute-force surface: per client address, per scope.
        "auth": env.str("THROTTLE_AUTH_RATE", default="20/min"),
        "login": env.str("THROTTLE_LOGIN_RATE", default="10/min"),
        "signup": env.str("THROTTLE_SIGNUP_RATE", default="10/hour"),
        "password": env.str("THROTTLE_PASSWORD_RATE", default="5/hour"),
        "admin_login": env.str("THROTTLE_ADMIN_LOGIN_RATE", default="10/min"),
        # Expensive operations, per user (core/throttling.py): a render queued, a video probed and
        # fingerprint-scanned in child processes, an image decoded and sent to face detection, a task
        # queued on the queue verification uses.
        "generation_create": env.str("THROTTLE_GENERATION_CREATE_RATE", default="10/min"),
        "provenance_check": env.str("THROTTLE_PROVENANCE_CHECK_RATE", default="20/hour"),
        "character_upload": env.str("THROTTLE_CHARACTER_UPLOAD_RATE", default="10/hour"),
        "realtime_ping": env.str("THROTTLE_REALTIME_PING_RATE", default="6/min"),
        # Reports, per signed-in user (moderation).
        "reports": env.str("THROTTLE_REPORTS_RATE", default="20/hour"),
        "appeals": env.str("THROTTLE_APPEALS_RATE", default="10/hour"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "NON_FIELD_ERRORS_KEY": "non_field_errors",
    # How many proxies in front of us append to X-Forwarded-For; 0 trusts only the socket's address, so
    # a client cannot pick its own throttle key.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Sora Social API",
    "DESCRIPTION": (
        "Cameo-first social video. Every error is `{code, message, extra}`; clients switch on `code`. "
        "Lists use cursor pagination."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        # `kind` names both a cameo's kind and an audio cue's kind.
        "KindEnum": "cameos.models.CameoKind",
        "SceneCueKindEnum": "ml.scene.CueKind",
        # `status` of a user's moderation report (open, resolved).
        "ReportStatusEnum": "moderation.models.ReportStatus",
        # `status` of an appeal (pending, upheld, denied); `kind` of a moderation queue item.
        "AppealStatusEnum": "moderation.models.AppealStatus",
        "CaseKindEnum": "moderation.models.CaseKind",
    },
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=5)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    # Its own key, derived from the install's secret: a JWT signed with SECRET_KEY itself is refused.
    "SIGNING_KEY": derive_key_text(SECRET_KEY, "jwt") if SECRET_KEY else "",
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Login and refresh refuse inactive and suspended accounts alike.
    "USER_AUTHENTICATION_RULE": "accounts.authentication.user_may_sign_in",
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}

# E-mail verification links stay valid this long.
EMAIL_VERIFICATION_MAX_AGE_SECONDS = env.int("EMAIL_VERIFICATION_MAX_AGE_SECONDS", default=3 * 24 * 3600)
