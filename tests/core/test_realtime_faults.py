"""The socket path when the channel layer (Redis) fails: a socket is closed with 1011 (never a 500 handshake
or a TCP connection dropped without a close frame), and a push is dropped without failing its caller."""

import logging
import tempfile
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from accounts.services import tokens_issue
from core.consumers import CLOSE_INTERNAL_ERROR
from core.embedded import EmbeddedRedis
from core.realtime import push_to_user
from sora_social.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def _close_the_sync_threads_connections():
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture
def layer_redis(settings):
    """A Redis of this test's own as the channel layer, so the test can kill it."""
    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="sora-layer-")) / "redis.sock")
    server.start()
    settings.CHANNEL_LAYERS = {
        "default": {
            **settings.CHANNEL_LAYERS["default"],
            "CONFIG": {
                **settings.CHANNEL_LAYERS["default"]["CONFIG"],
                "hosts": [{"address": f"unix://{server.socket_path}", "socket_timeout": None}],
            },
        }
    }
    yield server
    server.stop()


def kill(server: EmbeddedRedis) -> None:
    assert server.process is not None
    server.process.kill()
    server.process.wait(timeout=10)


async def open_socket(user) -> WebsocketCommunicator:
    token = (await database_sync_to_async(tokens_issue)(user=user))["access"]
    return WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Bearer {token}".encode())]
    )


async def test_a_handshake_while_the_layer_is_down_is_closed_with_1011(make_user, layer_redis):
    maya = await database_sync_to_async(make_user)(username="maya")
    kill(layer_redis)
    socket = await open_socket(maya)
    connected, _ = await socket.connect(timeout=10)
    assert connected  # accepted only to be closed with a code the client can act on
    closed = await socket.receive_output(timeout=10)
    assert closed == {"type": "websocket.close", "code": CLOSE_INTERNAL_ERROR}


async def test_an_open_socket_is_closed_with_1011_when_the_layer_dies(make_user, layer_redis):
    maya = await database_sync_to_async(make_user)(username="maya")
    socket = await open_socket(maya)
    assert (await socket.connect(timeout=10))[0]
    assert (await socket.receive_json_from(timeout=10))["type"] == "connection.ready"
    kill(layer_redis)
    closed = await socket.receive_output(timeout=20)
    assert closed == {"type": "websocket.close", "code": CLOSE_INTERNAL_ERROR}


def test_a_push_while_the_layer_is_down_is_dropped_and_logged(make_user, layer_redis, caplog):
    maya = make_user(username="maya")
    kill(layer_redis)
    with caplog.at_level(logging.WARNING, logger="core.realtime"):
        push_to_user(user_id=maya.pk, event_type="test.event", data={})
    assert "push test.event to user" in caplog.text
