from .base import REDIS_URL
from .env import env

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL}],
            "prefix": env.str("CHANNEL_LAYER_PREFIX", default="asgi"),
            "capacity": 500,
            "expiry": 60,
        },
    }
}

# Browsers always send Origin on a WebSocket handshake; a present Origin must be one of these hosts.
# Native clients send none and authenticate with a bearer token (see core/consumers.py).
WEBSOCKET_ALLOWED_ORIGINS = env.list("WEBSOCKET_ALLOWED_ORIGINS", default=[])
