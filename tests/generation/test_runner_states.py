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


# --- The lease: one holder at a time, a dead holder's job recovered ---------------------------------------


def dead_pid() -> int:
    """The pid of a process of this host that has exited."""
    import subprocess

    finished = subprocess.Popen(["true"])
    finished.wait()
    return finished.pid


def hold(job, *, worker_id: str, heartbeat_age_s: float, attempts: int = 1) -> None:
    now = timezone.now()
    Generation.objects.filter(pk=job.pk).update(
        status="running",
        worker_id=worker_id,
        attempts=attempts,
        started_at=now - timedelta(seconds=heartbeat_age_s),
        heartbeat_at=now - timedelta(seconds=heartbeat_age_s),
    )


def test_a_delivery_while_a_live_worker_holds_the_job_does_nothing(job, monkeypatch):
    monkeypatch.setattr("generation.inference.render", lambda **kwargs: pytest.fail("rendered twice at once"))
    hold(job, worker_id="another-host:1234:abcd", heartbeat_age_s=1)
    runner.generation_run(generation_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.worker_id, job.attempts) == ("running", "another-host:1234:abcd", 1)


def test_a_job_whose_holder_process_is_gone_is_taken_over_at_once(job, monkeypatch):
    """The prefork pool redelivers a killed child's task at once: its row still has a fresh heartbeat, but the
    holder's process is gone from this host, so the new delivery renders it."""
    import os
    import socket

    from generation import inference

    def render(**kwargs):
        raise inference.RenderRejected("rendered (the takeover happened)")

    monkeypatch.setattr(runner, "_identities", lambda generation, work: [])
    monkeypatch.setattr("generation.inference.render", render)
    hold(job, worker_id=f"{socket.gethostname()}:{dead_pid()}:abcd", heartbeat_age_s=1)
    runner.generation_run(generation_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.failure_reason, job.attempts) == ("failed", "engine_rejected_input", 2)
    assert job.worker_id.startswith(f"{socket.gethostname()}:{os.getpid()}:")  # the lease is this process's


def test_the_sweep_requeues_a_job_whose_heartbeat_stopped_and_sends_it_again(
    job, settings, django_capture_on_commit_callbacks
):
    settings.GENERATION_LEASE_S = 30
    hold(job, worker_id="another-host:1234:abcd", heartbeat_age_s=60)
    fresh = GenerationFactory(requester=job.requester, status="queued")
    hold(fresh, worker_id="another-host:1234:ef01", heartbeat_age_s=5)

    with django_capture_on_commit_callbacks() as callbacks:
        counts = runner.generations_sweep()

    assert counts["requeued"] == 1
    job.refresh_from_db()
    assert (job.status, job.stage, job.worker_id, job.dispatched_at) == ("queued", "requeued", "", None)
    assert len([c for c in callbacks if "send" in c.__qualname__]) == 1  # one render message, after commit
    fresh.refresh_from_db()
    assert (fresh.status, fresh.worker_id) == ("running", "another-host:1234:ef01")


def test_the_sweep_gives_up_after_the_last_attempt_with_worker_lost(job, settings):
    settings.GENERATION_LEASE_S = 30
    settings.GENERATION_MAX_ATTEMPTS = 3
    hold(job, worker_id="another-host:1234:abcd", heartbeat_age_s=60, attempts=3)
    assert runner.generations_sweep()["worker_lost"] == 1
    job.refresh_from_db()
    assert (job.status, job.failure_reason) == ("failed", "worker_lost")


def test_the_sweep_sends_what_the_broker_did_not_take(job, settings, django_capture_on_commit_callbacks):
    """The outbox: a queued job whose message was never sent is sent once it is older than the grace period;
    a just-created one (its commit hook may still be sending) is left alone."""
    settings.GENERATION_DISPATCH_GRACE_S = 10
    Generation.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=30))
    just_created = GenerationFactory(requester=job.requester, status="queued")
    sent = GenerationFactory(requester=job.requester, status="queued", dispatched_at=timezone.now())
    Generation.objects.filter(pk=sent.pk).update(created_at=timezone.now() - timedelta(seconds=30))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        counts = runner.generations_sweep()
    assert counts["dispatched"] == 1
    assert len(callbacks) == 1
    assert Generation.objects.get(pk=just_created.pk).dispatched_at is None


def test_a_worker_that_lost_its_lease_keeps_nothing(job, monkeypatch):
    """The sweep re-queued the job (its heartbeat looked stopped) and another worker claimed it: the first
    worker's render stops at its next check and stores nothing."""
    from generation import inference

    def render(*, should_cancel, **kwargs):
        Generation.objects.filter(pk=job.pk).update(worker_id="another-host:1234:new0")
        if should_cancel():
            raise inference.RenderCanceled("lease lost")
        pytest.fail("the render went on without its lease")

    monkeypatch.setattr(runner, "CANCEL_CHECK_INTERVAL_S", 0.0)
    monkeypatch.setattr(runner, "_identities", lambda generation, work: [])
    monkeypatch.setattr("generation.inference.render", render)
    runner.generation_run(generation_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.worker_id, job.failure_reason) == ("running", "another-host:1234:new0", "")
    assert not job.video


def test_a_starting_worker_removes_the_scratch_folders_of_dead_render_processes(settings, tmp_path):
    """A worker killed mid-render never ran its cleanup; the next worker (or prefork child) of this host
    removes that folder when it starts, and leaves live processes' and other hosts' folders alone."""
    import os
    import socket

    from celery.signals import worker_process_init

    settings.GENERATION_WORK_DIR = tmp_path / "render-work"
    host = socket.gethostname()[:60]
    dead = settings.GENERATION_WORK_DIR / f"generation-7-{dead_pid()}@{host}-abc123"
    live = settings.GENERATION_WORK_DIR / f"generation-8-{os.getppid()}@{host}-def456"
    elsewhere = settings.GENERATION_WORK_DIR / f"generation-9-{dead_pid()}@another-host-0a1b2c"
    for folder in (dead, live, elsewhere):
        (folder / "frames").mkdir(parents=True)
        (folder / "frames" / "0001.png").write_bytes(b"x")

    worker_process_init.send(sender=None)

    assert sorted(p.name for p in settings.GENERATION_WORK_DIR.iterdir()) == sorted(
        [live.name, elsewhere.name]
    )
