from .base import REDIS_URL
from .env import env

CHANNEL_LAYER_SOCKET_TIMEOUT_S: float | None = None

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis-py 8 reads with a 5 s socket timeout by default, exactly channels_redis's blocking pop
            # of 5 s: every idle socket would die after 5 s. No read timeout (as redis-py 7 had): the pop
            # itself returns every 5 s. (A finite timeout above 5 s hung the cancel of a pending receive.)
            "hosts": [{"address": REDIS_URL, "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT_S}],
            "prefix": env.str("CHANNEL_LAYER_PREFIX", default="asgi"),
            "capacity": 500,
            "expiry": 60,
        },
    }
}

# Browsers always send Origin on a WebSocket handshake; a present Origin must be one of these hosts.
# Native clients send none and authenticate with a bearer token (see core/consumers.py).
WEBSOCKET_ALLOWED_ORIGINS = env.list("WEBSOCKET_ALLOWED_ORIGINS", default=[])

# How often an open socket re-checks, even when idle, that the credentials it opened with still hold (it
# also re-checks before delivering each event; a revocation also closes it at once through its group).
WEBSOCKET_CREDENTIAL_RECHECK_SECONDS = env.float("WEBSOCKET_CREDENTIAL_RECHECK_SECONDS", default=60.0)
