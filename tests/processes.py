"""Helpers for tests that start real worker processes beside the test process."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection


def database_url() -> str:
    """The test database as a DATABASE_URL, so a child process uses the same one as this test."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


@contextmanager
def web_server(*, data_dir: Path, timeout_s: float = 120) -> Iterator[str]:
    """The project served by a real uvicorn process on a free loopback port, as `scripts/run` serves it,
    sharing this test's database, Redis, secret key and media folder (`data_dir`/media, which must be
    settings.MEDIA_ROOT); yields its base URL. The socket is bound here and handed over (`--fd`), so no
    other process can take the port in between."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SORA_DATA_DIR": str(data_dir),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "sora_social.asgi:application", "--fd", str(listener.fileno()),
         "--log-level", "warning", "--no-access-log"],
        env=env, cwd=settings.BASE_DIR, pass_fds=(listener.fileno(),),
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(base_url + "/healthz", timeout=5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"uvicorn did not come up on {base_url} (exit {process.poll()})"
                    ) from None
                time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)
        listener.close()


@contextmanager
def celery_worker(*, data_dir: Path) -> Iterator[None]:
    """A real Celery worker on the `cpu` and `gpu` queues (emptied first), sharing this test's database,
    Redis, secret key and media folder (`data_dir`/media, which must be settings.MEDIA_ROOT). Tasks are
    sent to it, not run inline, while it runs."""
    from sora_social.celery import app as celery_app

    with celery_app.connection_for_write() as broker:
        for queue in ("cpu", "gpu"):
            broker.default_channel.queue_declare(queue=queue, durable=True, auto_delete=False)
            broker.default_channel.queue_purge(queue)
    celery_app.conf.task_always_eager = False
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "sora_social", "worker", "--pool", "solo", "-Q", "cpu,gpu",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"],
        env={**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL,
             "SORA_DATA_DIR": str(data_dir), "DJANGO_SECRET_KEY": settings.SECRET_KEY},
        cwd=settings.BASE_DIR,
    )  # fmt: skip
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=60)
