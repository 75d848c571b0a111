"""ASGI entry point: HTTP goes to Django (behind the request body limit), `/ws/` to the per-user realtime
consumer."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sora_social.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from accounts.authentication import (  # noqa: E402
    credential_fingerprint,
    current_credential_fingerprint,
    user_for_access_token,
)
from core.body_limit import RequestBodyLimitMiddleware  # noqa: E402
from core.consumers import RealtimeConsumer  # noqa: E402
from core.websocket_auth import WebSocketAuthMiddleware, WebSocketOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Bodies are bounded (and large ones need credentials) before Django reads them: core/body_limit.py.
        "http": RequestBodyLimitMiddleware(django_asgi_app, authenticate_token=user_for_access_token),
        "websocket": WebSocketOriginValidator(
            WebSocketAuthMiddleware(
                URLRouter([path("ws/", RealtimeConsumer.as_asgi())]),
                authenticate_token=user_for_access_token,
                credential_fingerprint=credential_fingerprint,
                current_credential_fingerprint=current_credential_fingerprint,
            )
        ),
    }
)
