"""A worker SIGKILLed in the middle of verifying a cameo: the task comes back to another worker, and the
cameo ends with exactly one verified result."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage

from cameos import services
from cameos.models import Cameo, FaceEmbedding, LivenessChallenge
from cameos.tasks import verify_cameo_task
from sora_social.celery import app as celery_app
from tests.factories import UserFactory
from tests.fixtures import recordings
from tests.processes import database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def start_worker(queue: str, data_dir) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SORA_DATA_DIR": str(data_dir),
        # Tasks a dead worker held come back after 2 s, looked for every second.
        "CELERY_VISIBILITY_TIMEOUT": "2",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "sora_social", "worker", "--pool", "solo", "-Q", queue,
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"],
        env=env,
        cwd=settings.BASE_DIR,
    )  # fmt: skip


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_sigkill_mid_verification_ends_with_exactly_one_verified_result(
    recording, tmp_path, settings, monkeypatch
):
    monkeypatch.setattr("cameos.services.push_to_user", lambda **kwargs: None)
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir(exist_ok=True)
    settings.CAMEO_UPLOAD_SPOOL_DIR = tmp_path / "upload-spool"
    user = UserFactory(username="maya")
    challenge = LivenessChallenge.objects.create(user=user, digits="4729", expires_at="2999-01-01T00:00:00Z")
    monkeypatch.setattr("cameos.tasks.verify_cameo_task.apply_async", lambda **kwargs: None)
    with recording(recordings.GOOD).open("rb") as data:
        cameo = services.cameo_create(owner=user, challenge_id=challenge.pk, recording=data)
    monkeypatch.undo()
    queue = f"test-crash-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_always_eager = False

    first = start_worker(queue, tmp_path)
    second = None
    try:
        verify_cameo_task.apply_async(args=(cameo.pk,), queue=queue)
        wait_for(
            lambda: Cameo.objects.get(pk=cameo.pk).status == "processing", 60, "the first worker to start"
        )
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        assert Cameo.objects.get(pk=cameo.pk).status == "processing"

        second = start_worker(queue, tmp_path)
        wait_for(
            lambda: Cameo.objects.get(pk=cameo.pk).status != "processing", 120, "the task to be redelivered"
        )
    finally:
        for worker in (first, second):
            if worker is not None and worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=20)

    cameo.refresh_from_db()
    assert cameo.status == "verified", (cameo.status, cameo.rejection_reason)
    assert FaceEmbedding.objects.filter(cameo=cameo).count() == 1
    assert Cameo.objects.filter(owner=user).count() == 1
    _, references = default_storage.listdir(f"cameos/{user.pk}/references")
    assert references == [Path(cameo.reference_image.name).name]  # one crop, under an unguessable name
