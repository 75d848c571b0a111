"""The render job on the real pipeline (reference engine, sound, provenance): results, cancel, retries, and
the revocation race."""

import io
import random
import threading
import time

import av
import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from PIL import Image

from cameos.models import CameoAccessRequest, FaceEmbedding
from generation import runner, services
from generation.models import Generation, GenerationStatus
from generation.selectors import generation_is_publishable
from generation.tasks import render_generation_task
from tests.factories import CameoFactory, GenerationFactory
from tests.fixtures import recordings

SPEC_PROMPT = '@maya waves on a beach at sunset, maya says "hello"\nduration: 1.5s\nresolution: 480p'


@pytest.fixture(scope="module")
def astronaut_identity() -> tuple[bytes, bytes]:
    """The astronaut's aligned face crop (PNG) and dlib descriptor, as verification stores them."""
    from ml.identity.face import DlibFaceEmbedder, FaceAnalyzer

    image = recordings.photo("astronaut")
    face = FaceAnalyzer().detect(image, upsample=1)[0]
    buffer = io.BytesIO()
    Image.fromarray(face.chip).save(buffer, format="PNG")
    vector = DlibFaceEmbedder().embed(image, [face])[0]
    return buffer.getvalue(), np.asarray(vector, dtype="<f4").tobytes()


@pytest.fixture
def events(monkeypatch):
    """Every event pushed to a socket, as (user_id, type, data)."""
    pushed = []

    def push(*, user_id, event_type, data):
        pushed.append((user_id, event_type, data))

    monkeypatch.setattr("generation.runner.push_to_user", push)
    monkeypatch.setattr("generation.services.push_to_user", push)
    return pushed


def make_job(make_user, identity, *, prompt=SPEC_PROMPT, status=GenerationStatus.QUEUED):
    maya = make_user(username="maya")
    leo = make_user(username="leo")
    cameo = CameoFactory(owner=maya, permission="approved")
    CameoAccessRequest.objects.create(cameo=cameo, requester=leo, status="approved")
    reference, vector = identity
    cameo.reference_image = default_storage.save(f"cameos/{maya.pk}/references/c.png", ContentFile(reference))
    cameo.save()
    FaceEmbedding.objects.create(cameo=cameo, vector=vector, dimensions=128, model_name="dlib_resnet_v1")
    from ml.prompt import parse_prompt

    spec = parse_prompt(prompt).to_dict()
    return GenerationFactory(requester=leo, cameos=[cameo], status=status, prompt=prompt, spec=spec)


def stored_files(job) -> list[str]:
    folder = f"generations/{job.requester_id}/{job.pk}"
    return default_storage.listdir(folder)[1] if default_storage.exists(folder) else []


@pytest.mark.django_db
def test_a_job_renders_to_a_checked_signed_draft(
    make_user, astronaut_identity, events, tmp_path, django_capture_on_commit_callbacks
):
    job = make_job(make_user, astronaut_identity)
    with django_capture_on_commit_callbacks(execute=True):
        runner.generation_run(generation_id=job.pk)
    job.refresh_from_db()
    assert job.status == "succeeded", (job.status, job.failure_reason, job.output_check)
    assert (job.progress, job.stage, job.attempts) == (1.0, "done", 1)
    assert sorted(stored_files(job)) == ["poster.jpg", "video.mp4"]
    assert job.engine_metadata["engine"] and len(job.engine_metadata["checkpoint_sha256"]) == 64
    assert job.engine_metadata["timings"]["render_s"] > 0
    assert job.provenance and job.fingerprint
    assert job.output_check["status"] == "succeeded" and job.output_check["frames_checked"] > 0

    local = tmp_path / "out.mp4"
    with default_storage.open(job.video.name, "rb") as stored:
        local.write_bytes(stored.read())
    with av.open(str(local)) as container:
        assert {s.type for s in container.streams} == {"video", "audio"}
        assert abs(float(container.duration / av.time_base) - 1.5) < 0.25

    progress = [data["progress"] for user, kind, data in events if kind == "generation.progress"]
    assert progress and progress == sorted(progress)
    assert all(user == job.requester_id for user, kind, _ in events if kind.startswith("generation."))
    finished = [data for _, kind, data in events if kind == "generation.finished"]
    assert finished[-1]["status"] == "succeeded"
    owner = job.cameo_uses.get().owner_id
    assert [(user, kind) for user, kind, _ in events if kind == "appearance.created"] == [
        (owner, "appearance.created")
    ]


@pytest.mark.django_db
def test_cancel_during_the_render_keeps_nothing(make_user, astronaut_identity, events, monkeypatch):
    job = make_job(make_user, astronaut_identity)
    monkeypatch.setattr(runner, "CANCEL_CHECK_INTERVAL_S", 0.0)
    original = runner._Watch.progress

    def progress(self, fraction, stage):
        original(self, fraction, stage)
        if fraction > 0.05 and Generation.objects.get(pk=job.pk).status == "running":
            services.generation_cancel(requester=job.requester, generation_id=job.pk)

    monkeypatch.setattr(runner._Watch, "progress", progress)
    runner.generation_run(generation_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.failure_reason) == ("canceled", "canceled_by_requester")
    assert stored_files(job) == []
    assert job.engine_metadata == {}


@pytest.mark.django_db
def test_a_transient_fault_is_retried_then_succeeds(
    make_user, astronaut_identity, events, monkeypatch, django_capture_on_commit_callbacks
):
    job = make_job(make_user, astronaut_identity)
    from generation import inference

    real_engine = inference._engine
    calls = []

    def flaky_engine():
        calls.append(1)
        if len(calls) == 1:
            raise OSError("device lost")
        return real_engine()

    monkeypatch.setattr(inference, "_engine", flaky_engine)
    with django_capture_on_commit_callbacks(execute=True):
        # eagerly, a retry runs at once inside the first call (no countdown), which then reports "retry"
        render_generation_task.apply(args=(job.pk,), throw=False)
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert job.attempts == 2
    assert any(data.get("stage") == "retrying" for _, kind, data in events if kind == "generation.status")


@pytest.mark.django_db
def test_retries_are_capped(make_user, astronaut_identity, events, monkeypatch, settings):
    job = make_job(make_user, astronaut_identity)
    from generation import inference

    def broken_engine():
        raise MemoryError("out of memory")

    monkeypatch.setattr(inference, "_engine", broken_engine)
    # the delivery that has used up every retry
    render_generation_task.apply(args=(job.pk,), retries=render_generation_task.max_retries, throw=False)
    job.refresh_from_db()
    assert (job.status, job.failure_reason) == ("failed", "engine_unavailable")
    assert job.attempts == 1
    assert stored_files(job) == []


@pytest.mark.django_db
def test_a_spec_the_engine_cannot_take_fails_without_retry(make_user, astronaut_identity, events):
    job = make_job(make_user, astronaut_identity)
    Generation.objects.filter(pk=job.pk).update(spec={"version": 999})
    render_generation_task.delay(job.pk)
    job.refresh_from_db()
    assert (job.status, job.failure_reason, job.attempts) == ("failed", "engine_rejected_input", 1)


@pytest.mark.django_db(transaction=True)
def test_revoking_while_rendering_never_keeps_an_output(make_user, astronaut_identity, events, monkeypatch):
    """Repeated with random timing: whenever the revocation commits before the result is stored, the job
    fails `consent_revoked` with nothing in storage; when it lands after, the draft exists but can never be
    published. Never a stored output the owner had already refused."""
    monkeypatch.setattr(runner, "CANCEL_CHECK_INTERVAL_S", 0.0)
    rng = random.Random(2026)
    job = make_job(make_user, astronaut_identity)
    started = time.monotonic()
    runner.generation_run(generation_id=job.pk)
    render_s = time.monotonic() - started
    outcomes = []
    for attempt in range(8):
        job = GenerationFactory(
            requester=job.requester,
            cameos=[job.cameo_uses.get().cameo],
            prompt=job.prompt,
            spec=job.spec,
            status="queued",
        )
        CameoAccessRequest.objects.update_or_create(
            cameo=job.cameo_uses.get().cameo, requester=job.requester, defaults={"status": "approved"}
        )

        def run(job_id=job.pk):
            try:
                runner.generation_run(generation_id=job_id)
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(rng.uniform(0, render_s * 1.2))
        CameoAccessRequest.objects.filter(requester=job.requester).delete()
        thread.join(timeout=300)
        job.refresh_from_db()
        outcomes.append(job.status)
        if job.status == "succeeded":
            assert not generation_is_publishable(generation=job)
        else:
            assert (job.status, job.failure_reason) == ("failed", "consent_revoked"), attempt
            assert stored_files(job) == []
    assert "failed" in outcomes  # the timing range makes most revocations land during the render
