"""ASGI entry point: HTTP goes to Django, `/ws/` to the per-user realtime consumer."""

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
from core.consumers import RealtimeConsumer  # noqa: E402
from core.websocket_auth import WebSocketAuthMiddleware, WebSocketOriginValidator  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
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
