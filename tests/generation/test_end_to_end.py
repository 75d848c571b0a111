"""The whole product path through a real worker process and the reference engine: two people sign up, one
records and verifies a cameo, grants the other access, the other generates a video with it, follows its
progress over the socket, plays a signed draft with provenance; the owner sees it in their appearances."""

import asyncio
from dataclasses import replace
from pathlib import Path

import av
import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections

from sora_social.asgi import application
from tests.fixtures import recordings
from tests.openapi_validation import SchemaValidatingAPIClient
from tests.processes import celery_worker

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def worker(tmp_path, settings):
    """A real worker on the `cpu` and `gpu` queues, sharing the database and media."""
    settings.CAMEO_UPLOAD_SPOOL_DIR = tmp_path / "upload-spool"
    with celery_worker(data_dir=tmp_path):
        yield


@pytest.fixture(autouse=True)
async def _close_the_sync_threads_connections():
    yield
    await database_sync_to_async(connections.close_all)()


def signup(username: str) -> SchemaValidatingAPIClient:
    client = SchemaValidatingAPIClient()
    response = client.post(
        "/api/v1/auth/signup/",
        {"username": username, "email": f"{username}@example.com", "password": "a-long-pass-phrase-2026",
         "birth_date": "1994-05-06"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    client.access_token = response.json()["access"]
    return client


def record_cameo(client: SchemaValidatingAPIClient) -> tuple[int, Path]:
    """A challenge, and a recording of a real face reading its digits (built before any socket is open: it
    keeps this process's CPU busy for seconds)."""
    challenge = client.post("/api/v1/cameos/challenges/", {}, format="json").json()
    spec = replace(recordings.GOOD, name=f"e2e_{challenge['digits']}", digits=challenge["digits"])
    return challenge["id"], recordings.build(spec)


def upload_cameo(client: SchemaValidatingAPIClient, challenge_id: int, path: Path) -> int:
    with path.open("rb") as recording:
        response = client.post(
            "/api/v1/cameos/", {"challenge_id": challenge_id, "recording": recording}, format="multipart"
        )
    assert response.status_code == 202, response.json()
    return response.json()["id"]


async def wait_for_event(socket: WebsocketCommunicator, wanted: str, seen: list, timeout: float) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            event = await socket.receive_json_from(timeout=timeout)
            seen.append(event)
            if event["type"] == wanted:
                return event


async def test_signup_to_a_playable_signed_draft_in_the_owners_appearances(worker, tmp_path):
    maya = await sync_to_async(signup)("maya")
    leo = await sync_to_async(signup)("leo")
    challenge_id, recording = await sync_to_async(record_cameo)(maya)
    maya_socket = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Bearer {maya.access_token}".encode())]
    )
    leo_socket = WebsocketCommunicator(
        application, "/ws/", headers=[(b"authorization", f"Bearer {leo.access_token}".encode())]
    )
    for socket in (maya_socket, leo_socket):
        assert (await socket.connect(timeout=10))[0]
        assert (await socket.receive_json_from(timeout=10))["type"] == "connection.ready"

    # maya records her cameo; the worker verifies it on the real models
    cameo_id = await sync_to_async(upload_cameo)(maya, challenge_id, recording)
    maya_events: list = []
    await wait_for_event(maya_socket, "cameo.progress", maya_events, 120)
    while (await sync_to_async(maya.get)(f"/api/v1/cameos/{cameo_id}/")).json()["status"] in (
        "uploaded",
        "processing",
    ):
        await asyncio.sleep(0.2)
    assert (await sync_to_async(maya.get)(f"/api/v1/cameos/{cameo_id}/")).json()["status"] == "verified"

    # maya shares it with people she approves; leo asks for access; maya approves
    shared = await sync_to_async(maya.patch)(
        f"/api/v1/cameos/{cameo_id}/", {"permission": "approved"}, format="json"
    )
    assert shared.status_code == 200, shared.json()
    request = await sync_to_async(leo.post)(f"/api/v1/cameos/{cameo_id}/access-requests/", {}, format="json")
    assert request.status_code == 201, request.json()
    approve = await sync_to_async(maya.post)(
        f"/api/v1/cameos/access-requests/{request.json()['id']}/approve/"
    )
    assert approve.status_code == 200, approve.json()

    # leo generates; progress and completion arrive on his socket
    created = await sync_to_async(leo.post)(
        "/api/v1/generations/",
        {"prompt": '@maya waves on a beach at sunset, maya says "hello there"\nduration: 2s'},
        format="json",
    )
    assert created.status_code == 201, created.json()
    generation_id = created.json()["id"]
    leo_events: list = []
    finished = await wait_for_event(leo_socket, "generation.finished", leo_events, 600)
    assert finished["data"]["generation_id"] == generation_id
    assert finished["data"]["status"] == "succeeded", finished
    progress = [e["data"]["progress"] for e in leo_events if e["type"] == "generation.progress"]
    assert len(progress) >= 3 and progress == sorted(progress)

    # a playable draft, with its provenance
    draft = (await sync_to_async(leo.get)(f"/api/v1/generations/{generation_id}/")).json()
    assert draft["status"] == "succeeded" and draft["published_at"] is None
    assert draft["engine"]["engine"] and len(draft["engine"]["checkpoint_sha256"]) == 64
    assert draft["provenance"]
    media = await sync_to_async(leo.get)(draft["video_url"])
    assert media.status_code == 200
    video = tmp_path / "draft.mp4"
    video.write_bytes(b"".join(media.streaming_content))
    with av.open(str(video)) as container:
        assert {stream.type for stream in container.streams} == {"video", "audio"}
        assert abs(float(container.duration / av.time_base) - 2.0) < 0.3

    from ml.provenance.c2pa import verify

    report = verify(video)
    assert report.ok and report.ai_generated, report

    # maya hears about it and sees it in her appearances
    appearance = await wait_for_event(maya_socket, "appearance.created", maya_events, 30)
    assert appearance["data"]["generation_id"] == generation_id
    listed = (await sync_to_async(maya.get)(f"/api/v1/cameos/{cameo_id}/appearances/")).json()["results"]
    assert [(a["id"], a["requester"]) for a in listed] == [(generation_id, "leo")]
    await maya_socket.disconnect()
    await leo_socket.disconnect()
