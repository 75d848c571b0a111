"""The fault suite: real worker processes, beat and a Redis of the test's own (loopback only, bounded in
time), with faults injected mid-load. Every job ends final, with its video; none is lost, none rendered twice
at once, none left `running`.

- a render worker `kill -9`ed mid-render (solo pool: the whole worker; prefork: the pool child) is run again,
  promptly (the lease, not the broker's one-hour visibility timeout) and once; its scratch folder is removed;
- Redis `kill -9`ed and restarted on the same socket (append-only file, as in docker/compose.yaml);
- every database connection terminated by the server (PostgreSQL only: SQLite has no server connections).
"""

import os
import signal
import time

import pytest
from django.db import connection, connections
from django.utils import timezone

from generation.models import Generation
from tests.factories import GenerationFactory
from tests.faults import KillableRedis, celery_process, children, kill_group, wait_for, worker_args
from tests.generation.test_runner_render import astronaut_identity as astronaut_identity  # the fixture
from tests.generation.test_runner_render import make_job, stored_files
from tests.processes import database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

# Short enough for a test, long enough that a live worker on a busy two-core machine keeps its lease.
FAST_RECOVERY = {
    "GENERATION_LEASE_S": "10",
    "GENERATION_HEARTBEAT_S": "1",
    "GENERATION_SWEEP_INTERVAL_S": "1",
    "GENERATION_DISPATCH_GRACE_S": "1",
}


class Stack:
    """A Redis of its own, a `cpu` worker running beat (the sweep every second), a `gpu` render worker."""

    def __init__(self, tmp_path, settings, *, pool: str) -> None:
        self.tmp_path = tmp_path
        self.settings = settings
        self.pool = pool
        self.redis = KillableRedis()
        self.redis.start()
        self.env = {
            "DATABASE_URL": database_url(),
            "REDIS_URL": self.redis.url,
            "SORA_DATA_DIR": str(tmp_path),
            **FAST_RECOVERY,
        }
        self.cpu = celery_process(
            worker_args("cpu", beat=True, schedule=tmp_path / "beat-schedule"),
            env=self.env, cwd=settings.BASE_DIR, log=tmp_path / "cpu.log",
        )  # fmt: skip
        self.gpu = self.start_gpu()

    def start_gpu(self):
        return celery_process(
            worker_args("gpu", pool=self.pool),
            env=self.env,
            cwd=self.settings.BASE_DIR,
            log=self.tmp_path / "gpu.log",
        )

    def stop(self) -> None:
        for process in (self.gpu, self.cpu):
            kill_group(process, signal.SIGTERM)
        self.redis.stop()

    def scratch_folders(self) -> list[str]:
        work = self.tmp_path / "render-work"
        return sorted(p.name for p in work.iterdir()) if work.is_dir() else []


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"  # what the workers use (SORA_DATA_DIR/media)
    settings.MEDIA_ROOT.mkdir(exist_ok=True)


def submit(make_user, identity, count: int) -> list[int]:
    """`count` queued jobs whose render message was never sent: the sweep on beat sends them (the outbox)."""
    first = make_job(make_user, identity)
    jobs = [first] + [
        GenerationFactory(
            requester=first.requester,
            cameos=[first.cameo_uses.get().cameo],
            prompt=first.prompt,
            spec=first.spec,
            status="queued",
        )
        for _ in range(count - 1)
    ]
    return [job.pk for job in jobs]


def states(ids: list[int]) -> dict[int, tuple[str, str, int]]:
    return {g.pk: (g.status, g.failure_reason, g.attempts) for g in Generation.objects.filter(pk__in=ids)}


def all_final(ids: list[int]) -> bool:
    return not Generation.objects.filter(pk__in=ids, status__in=("queued", "running")).exists()


def running_with_progress(ids: list[int], at_least: float = 0.1) -> Generation | None:
    return Generation.objects.filter(pk__in=ids, status="running", progress__gte=at_least).first()


def assert_each_succeeded_with_its_video(ids: list[int], *, attempts: set[int]) -> None:
    for job in Generation.objects.filter(pk__in=ids):
        assert job.status == "succeeded", (job.pk, job.status, job.failure_reason)
        assert job.attempts in attempts, (job.pk, job.attempts)
        assert sorted(stored_files(job)) == ["poster.jpg", "video.mp4"], stored_files(job)
        assert job.worker_id == "" and job.heartbeat_at is None


@pytest.mark.parametrize("pool", ["solo", "prefork"])
def test_a_render_worker_killed_mid_render_is_run_again_once(
    pool, make_user, astronaut_identity, tmp_path, settings, media
):
    ids = submit(make_user, astronaut_identity, 1)
    stack = Stack(tmp_path, settings, pool=pool)
    try:
        wait_for(lambda: running_with_progress(ids) is not None, 300, "the render to be under way")
        assert len(stack.scratch_folders()) == 1
        killed_at = time.monotonic()
        if pool == "solo":
            kill_group(stack.gpu)  # the whole worker: its message stays unacknowledged for an hour
            stack.gpu = stack.start_gpu()
        else:
            [child] = children(stack.gpu.pid)  # the pool child: the parent hands its message back at once
            os.kill(child, signal.SIGKILL)
        wait_for(lambda: all_final(ids), 300, "the job to end")
        recovered_s = time.monotonic() - killed_at
        # the dead render's folder was removed when its successor started; the successor's own once it ended
        wait_for(lambda: stack.scratch_folders() == [], 30, "no scratch folder left")
    finally:
        stack.stop()
    assert_each_succeeded_with_its_video(ids, attempts={2})
    assert recovered_s < 240


def test_redis_killed_and_restarted_loses_no_job(make_user, astronaut_identity, tmp_path, settings, media):
    ids = submit(make_user, astronaut_identity, 3)
    stack = Stack(tmp_path, settings, pool="solo")
    try:
        wait_for(lambda: running_with_progress(ids) is not None, 300, "a render to be under way")
        stack.redis.kill()
        time.sleep(3)
        stack.redis.start()
        wait_for(lambda: all_final(ids), 300, "every job to end")
    finally:
        stack.stop()
    assert_each_succeeded_with_its_video(ids, attempts={1})


def test_every_database_connection_terminated_mid_render_loses_no_job(
    make_user, astronaut_identity, tmp_path, settings, media
):
    if connection.vendor != "postgresql":
        pytest.skip(
            "only a database server has connections to terminate (SQLite is a file opened in-process)"
        )
    ids = submit(make_user, astronaut_identity, 2)
    stack = Stack(tmp_path, settings, pool="solo")
    try:
        wait_for(lambda: running_with_progress(ids) is not None, 300, "a render to be under way")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            terminated = cursor.fetchone()[0]
        assert terminated >= 2  # at least the two workers' connections
        wait_for(lambda: all_final(ids), 300, "every job to end")
    finally:
        stack.stop()
        connections.close_all()
    assert_each_succeeded_with_its_video(ids, attempts={1, 2})
    assert Generation.objects.filter(pk__in=ids, finished_at__lte=timezone.now()).count() == len(ids)
