"""The render job when something around it fails: a channel layer that dies, a database connection that is
cut. What committed is never undone, and nothing is left `running` because a write failed."""

import tempfile
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from core.embedded import EmbeddedRedis
from generation import output_checks, runner
from generation.models import Generation
from generation.tasks import render_generation_task
from tests.generation.test_runner_render import astronaut_identity as astronaut_identity  # the fixture
from tests.generation.test_runner_render import make_job, stored_files

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def layer_redis(settings):
    """A Redis of this test's own as the channel layer, so the test can kill it."""
    server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="sora-layer-")) / "redis.sock")
    server.start()
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    settings.CHANNEL_LAYERS = {
        "default": {
            **settings.CHANNEL_LAYERS["default"],
            "CONFIG": {
                **config,
                "hosts": [{"address": f"unix://{server.socket_path}", "socket_timeout": None}],
            },
        }
    }
    yield server
    server.stop()


def test_a_push_that_fails_after_the_store_commits_keeps_the_job_and_its_video(
    make_user, astronaut_identity, layer_redis, monkeypatch
):
    """Redis dies while the output is checked: the store commits, then its after-commit push raises
    ConnectionError. Before, that error escaped the store's transaction block and its cleanup deleted the
    committed mp4 and poster (a `succeeded` job whose video_url was a 404)."""
    job = make_job(make_user, astronaut_identity)
    real_judge = output_checks.judge

    def judge_then_lose_redis(**kwargs):
        verdict = real_judge(**kwargs)
        layer_redis.process.kill()
        layer_redis.process.wait(timeout=10)
        return verdict

    monkeypatch.setattr(output_checks, "judge", judge_then_lose_redis)
    render_generation_task.apply(args=(job.pk,))

    job.refresh_from_db()
    assert job.status == "succeeded", (job.status, job.failure_reason)
    assert job.video and job.poster
    assert default_storage.exists(job.video.name) and default_storage.exists(job.poster.name)
    assert sorted(stored_files(job)) == ["poster.jpg", "video.mp4"]


def test_the_result_is_uploaded_before_the_row_lock_is_taken(make_user, astronaut_identity, monkeypatch):
    """A slow storage must not hold the job's row lock (a cancel or a take-down would wait on it)."""
    job = make_job(make_user, astronaut_identity)
    monkeypatch.setattr("generation.runner.push_to_user", lambda **kwargs: None)
    monkeypatch.setattr("generation.services.push_to_user", lambda **kwargs: None)
    real_save = default_storage.save
    in_transaction = []

    def save(name, content, **kwargs):
        in_transaction.append((name, connection.in_atomic_block))
        return real_save(name, content, **kwargs)

    monkeypatch.setattr(default_storage, "save", save)
    runner.generation_run(generation_id=job.pk)

    job.refresh_from_db()
    assert job.status == "succeeded"
    assert [inside for name, inside in in_transaction if name.startswith("generations/")] == [False, False]


def terminate_my_connection() -> None:
    """Cut this process's database connection from the server side, as a restarted or failed-over PostgreSQL
    (or an idle-connection reaper) would."""
    pid = connection.connection.info.backend_pid
    from django.db import connections

    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip(
            "only a database server has connections to terminate (SQLite is a file opened in-process)"
        )


def test_a_connection_cut_mid_render_is_reconnected_and_the_job_succeeds(
    postgresql, make_user, astronaut_identity, monkeypatch
):
    job = make_job(make_user, astronaut_identity)
    monkeypatch.setattr("generation.runner.push_to_user", lambda **kwargs: None)
    monkeypatch.setattr("generation.services.push_to_user", lambda **kwargs: None)
    monkeypatch.setattr(runner, "CANCEL_CHECK_INTERVAL_S", 0.0)
    real_progress = runner._Watch.progress
    cuts = []

    def progress(self, fraction, stage):
        if fraction > 0.2 and not cuts:
            cuts.append(fraction)
            terminate_my_connection()
        real_progress(self, fraction, stage)

    monkeypatch.setattr(runner._Watch, "progress", progress)
    render_generation_task.apply(args=(job.pk,))
    job.refresh_from_db()
    assert cuts
    assert (job.status, job.attempts) == ("succeeded", 1)


def test_a_connection_cut_at_the_store_requeues_the_job_and_its_retry_succeeds(
    postgresql, make_user, astronaut_identity, monkeypatch
):
    """The store's transaction fails on a dropped connection: the job goes back to `queued` on a fresh
    connection (never left `running`), keeps no file, and the task's retry renders it again."""
    job = make_job(make_user, astronaut_identity)
    monkeypatch.setattr("generation.runner.push_to_user", lambda **kwargs: None)
    monkeypatch.setattr("generation.services.push_to_user", lambda **kwargs: None)
    real_store = runner._store_under_lock
    seen = []

    def store_on_a_cut_connection(*args, **kwargs):
        if not seen:
            seen.append(Generation.objects.get(pk=job.pk).status)
            terminate_my_connection()
        return real_store(*args, **kwargs)

    monkeypatch.setattr(runner, "_store_under_lock", store_on_a_cut_connection)
    # Eagerly, the retry runs at once inside this call, as the next delivery would.
    render_generation_task.apply(args=(job.pk,), throw=False)
    job.refresh_from_db()
    assert seen == ["running"]
    assert (job.status, job.attempts) == ("succeeded", 2), (job.status, job.failure_reason)
    assert sorted(stored_files(job)) == ["poster.jpg", "video.mp4"]
