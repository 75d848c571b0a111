"""The realtime path, for real: a task in a separate Celery worker process pushes an event through Redis
to the authenticated socket of its user, and to no one else's."""

import os
import subprocess
import sys
import uuid

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connections

from accounts.services import tokens_issue, tokens_revoke_all
from core.tasks import realtime_ping_task
from sora_social.asgi import application
from sora_social.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)


def socket_for(token: str | None = None, origin: str | None = None) -> WebsocketCommunicator:
    headers = []
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return WebsocketCommunicator(application, "/ws/", headers=headers)


async def connect(communicator: WebsocketCommunicator) -> bool:
    connected, _ = await communicator.connect(timeout=5)
    if connected:
        ready = await communicator.receive_json_from(timeout=5)
        assert ready["type"] == "connection.ready"
    return connected


@pytest.fixture(autouse=True)
async def _close_the_sync_threads_connections():
    """Database calls from async code run in asgiref's thread, whose connection outlives the test (and
    would keep PostgreSQL from dropping the test database) unless closed there."""
    yield
    await database_sync_to_async(connections.close_all)()


@pytest.fixture
def worker_queue():
    """A real Celery worker process on a queue of its own, so nothing else on the broker interferes."""
    queue = f"test-{uuid.uuid4().hex[:10]}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "sora_social",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ],
        env={**os.environ, "REDIS_URL": settings.REDIS_URL},
        cwd=settings.BASE_DIR,
    )
    celery_app.conf.task_always_eager = False
    yield queue
    process.terminate()
    process.wait(timeout=20)


async def test_task_in_a_worker_process_reaches_only_its_users_socket(make_user, worker_queue):
    maya, leo = await _users(make_user)
    maya_socket = socket_for(await _access(maya))
    leo_socket = socket_for(await _access(leo))
    assert await connect(maya_socket)
    assert await connect(leo_socket)

    realtime_ping_task.apply_async(args=(maya.pk, "n0nce"), queue=worker_queue)

    event = await maya_socket.receive_json_from(timeout=60)
    assert event["type"] == "realtime.pong"
    assert event["data"] == {"nonce": "n0nce"}
    assert await leo_socket.receive_nothing(timeout=1)
    await maya_socket.disconnect()
    await leo_socket.disconnect()


async def test_anonymous_socket_is_refused():
    assert not await connect(socket_for())


async def test_invalid_token_is_refused():
    assert not await connect(socket_for("not-a-token"))


async def test_revoked_token_is_refused(make_user):
    maya, _ = await _users(make_user)
    token = await _access(maya)
    await database_sync_to_async(tokens_revoke_all)(user=maya)

    assert not await connect(socket_for(token))


async def test_foreign_origin_is_refused_even_with_a_valid_token(make_user):
    maya, _ = await _users(make_user)

    assert not await connect(socket_for(await _access(maya), origin="https://evil.example"))


async def test_own_origin_is_accepted(make_user):
    maya, _ = await _users(make_user)
    communicator = socket_for(await _access(maya), origin="http://localhost:8000")

    assert await connect(communicator)
    await communicator.send_json_to({"type": "ping"})
    assert (await communicator.receive_json_from(timeout=5))["type"] == "pong"
    await communicator.disconnect()


async def _users(make_user):
    return await database_sync_to_async(lambda: (make_user(username="maya"), make_user(username="leo")))()


async def _access(user):
    return (await database_sync_to_async(tokens_issue)(user=user))["access"]


async def test_an_idle_socket_stays_open_and_still_receives(make_user):
    """Longer than the channel layer's 5 s blocking pop: the Redis read must wait past it (redis-py 8's
    default socket timeout of 5 s once killed every socket left idle that long)."""
    import asyncio

    from core.realtime import push_to_user

    maya, _ = await _users(make_user)
    communicator = socket_for(await _access(maya))
    assert await connect(communicator)
    await asyncio.sleep(7)
    await database_sync_to_async(push_to_user)(user_id=maya.pk, event_type="test.event", data={"n": 1})
    event = await communicator.receive_json_from(timeout=10)
    assert (event["type"], event["data"]) == ("test.event", {"n": 1})
    await communicator.disconnect()
