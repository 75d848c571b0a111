"""A notification caused by work done in a real Celery worker reaches its recipient's real socket: Leo's
video with Maya's cameo is rendered by a worker process (the reference engine), whose transaction storing
it makes Maya's `cameo_used_in_draft` notification and, after its commit, pushes it through Redis to the
socket Maya has open here; Leo's socket hears no notification. (The same path for job progress:
tests/generation/test_end_to_end.py and tests/core/test_realtime.py.)"""

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from accounts.services import tokens_issue
from feed.models import Notification
from generation.services import generation_dispatch
from sora_social.asgi import application
from tests.generation.test_runner_render import astronaut_identity as astronaut_identity  # the fixture
from tests.generation.test_runner_render import make_job
from tests.processes import celery_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(autouse=True)
async def _close_the_sync_threads_connections():
    yield
    await database_sync_to_async(connections.close_all)()


async def open_socket(user) -> WebsocketCommunicator:
    token = (await database_sync_to_async(tokens_issue)(user=user))["access"]
    socket = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Bearer {token}".encode())]
    )
    assert (await socket.connect(timeout=10))[0]
    assert (await socket.receive_json_from(timeout=10))["type"] == "connection.ready"
    return socket


async def next_notification(socket: WebsocketCommunicator, timeout: float) -> dict:
    """The first `notification` event (progress and other events of the job are passed over)."""
    while True:
        event = await socket.receive_json_from(timeout=timeout)
        if event["type"] == "notification":
            return event["data"]


async def test_a_render_finished_in_a_worker_notifies_the_cameo_owner_over_her_socket(
    make_user, astronaut_identity, tmp_path
):
    job = await database_sync_to_async(make_job)(make_user, astronaut_identity)
    maya = await database_sync_to_async(lambda: job.cameo_uses.get().owner)()
    leo = await database_sync_to_async(lambda: job.requester)()
    maya_socket, leo_socket = await open_socket(maya), await open_socket(leo)

    with celery_worker(data_dir=tmp_path):
        await sync_to_async(generation_dispatch)(generation_id=job.pk)
        data = await next_notification(maya_socket, timeout=600)

    notification = data["notification"]
    assert (notification["kind"], notification["text"]) == (
        "cameo_used_in_draft",
        "leo made a video with your cameo",
    )
    assert (notification["appearance_id"], notification["actor"], notification["read"]) == (
        job.pk,
        "leo",
        False,
    )
    assert data["unread_count"] == 1
    stored = await database_sync_to_async(
        lambda: list(Notification.objects.values_list("recipient_id", "kind"))
    )()
    assert stored == [(maya.pk, "cameo_used_in_draft")]
    events = []
    while not await leo_socket.receive_nothing(timeout=0.5):
        events.append((await leo_socket.receive_json_from())["type"])
    assert "notification" not in events
    await maya_socket.disconnect()
    await leo_socket.disconnect()
