"""The job runner's state machine where no render is needed: consent at start, redelivery, the sweep."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cameos.models import CameoAccessRequest
from generation import runner
from generation.models import Generation, GenerationStatus
from generation.tasks import sweep_generations_task
from tests.factories import CameoFactory, GenerationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(make_user):
    maya, leo = make_user(username="maya"), make_user(username="leo")
    cameo = CameoFactory(owner=maya, permission="approved")
    CameoAccessRequest.objects.create(cameo=cameo, requester=leo, status="approved")
    return GenerationFactory(requester=leo, cameos=[cameo], status=GenerationStatus.QUEUED)


def test_consent_revoked_before_the_job_starts_means_no_render(job, monkeypatch):
    def render(**kwargs):
        raise AssertionError("the engine must not run without consent")

    monkeypatch.setattr("generation.inference.render", render)
    CameoAccessRequest.objects.all().delete()
    runner.generation_run(generation_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.failure_reason) == ("failed", "consent_revoked")
    assert job.attempts == 0
    assert not job.video


@pytest.mark.parametrize(
    "state",
    [
        GenerationStatus.SUCCEEDED,
        GenerationStatus.CANCELED,
        GenerationStatus.FAILED,
        GenerationStatus.BLOCKED,
    ],
)
def test_a_redelivered_task_leaves_a_finished_job_alone(job, state, monkeypatch):
    monkeypatch.setattr("generation.inference.render", lambda **kwargs: pytest.fail("rendered twice"))
    Generation.objects.filter(pk=job.pk).update(status=state)
    runner.generation_run(generation_id=job.pk)
    job.refresh_from_db()
    assert job.status == state


def test_a_deleted_job_is_not_rendered(job, monkeypatch):
    monkeypatch.setattr("generation.inference.render", lambda **kwargs: pytest.fail("rendered a deleted job"))
    job.delete()
    runner.generation_run(generation_id=job.pk)


def test_a_taken_down_job_is_not_rendered(job, monkeypatch, client_for):
    monkeypatch.setattr("generation.inference.render", lambda **kwargs: pytest.fail("rendered a removed job"))
    owner = job.cameo_uses.get().owner
    assert client_for(owner).delete(f"/api/v1/cameos/appearances/{job.pk}/").status_code == 204
    runner.generation_run(generation_id=job.pk)
    job.refresh_from_db()
    assert job.status == "canceled"
    assert job.removed_reason == "removed_by_cameo_owner"


def test_the_sweep_fails_jobs_stuck_past_their_limits(job, settings):
    settings.GENERATION_TIME_LIMIT_S = 60
    settings.GENERATION_QUEUE_TIMEOUT_S = 600
    now = timezone.now()
    stuck_running = GenerationFactory(
        requester=job.requester, status="running", started_at=now - timedelta(seconds=200)
    )
    fresh_running = GenerationFactory(
        requester=job.requester, status="running", started_at=now - timedelta(seconds=30)
    )
    stuck_queued = GenerationFactory(requester=job.requester, status="queued")
    Generation.objects.filter(pk=stuck_queued.pk).update(created_at=now - timedelta(seconds=900))
    done = GenerationFactory(requester=job.requester, status="succeeded", started_at=now - timedelta(days=1))

    sweep_generations_task.delay()

    states = {g.pk: (g.status, g.failure_reason) for g in Generation.objects.all()}
    assert states[stuck_running.pk] == ("failed", "timed_out")
    assert states[stuck_queued.pk] == ("failed", "queue_timeout")
    assert states[fresh_running.pk] == ("running", "")
    assert states[job.pk] == ("queued", "")
    assert states[done.pk] == ("succeeded", "")
