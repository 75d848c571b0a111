"""The lease of a running render job, and the scratch folders of render processes.

A running job's row names its holder (`worker_id`: host:pid:token, new for every claim) and when it last proved
alive (`heartbeat_at`). `generation.runner` claims and checks the lease; the sweep there re-queues a job whose
lease expired. docs/ARCHITECTURE.md, "Faults", tells the whole story.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone

from generation.models import Generation, GenerationStatus

logger = logging.getLogger(__name__)

DB_ERRORS = (OperationalError, InterfaceError)  # a dropped or refused database connection: transient

T = TypeVar("T")


def with_reconnect(query: Callable[[], T]) -> T:
    """Run one autocommit query; if the connection dropped (a restarted database, a terminated backend), open
    a fresh one and run it once more. Inside a transaction nothing can be retried: the error propagates."""
    try:
        return query()
    except DB_ERRORS:
        if connection.in_atomic_block:
            raise
        logger.warning("database connection lost; reconnecting", exc_info=True)
        connection.close()
        return query()


def worker_identity() -> str:
    """Who holds a lease: this host and process, and a token new for every claim."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_is_gone(worker_id: str) -> bool:
    """Whether the process that holds a lease is known to be dead: it ran on this host and its process is
    gone, or it is this very process (which runs one task at a time, solo or prefork: the holder is a task that
    ended without releasing the row, e.g. a retry after a lost database connection). Otherwise only the
    heartbeat can tell."""
    host, _, rest = worker_id.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:60] or not (pid_text.isascii() and pid_text.isdigit()):
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def lease_expired(generation: Generation) -> bool:
    beat = generation.heartbeat_at or generation.started_at
    stale = beat is None or beat < timezone.now() - timedelta(seconds=settings.GENERATION_LEASE_S)
    return stale or holder_is_gone(generation.worker_id)


class Heartbeat:
    """Keeps the lease fresh from a thread of its own while the job runs, so a long step without callbacks
    (a model loading cold, the output checks) never looks like a dead worker; only the process dying stops it.
    (A hung process is ended by the task's time limit, and the sweep's own time limit rule.) Not started when
    the runner is called inside an enclosing transaction (tests): another connection could not see the row."""

    def __init__(self, generation: Generation) -> None:
        self.generation = generation
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if not connection.in_atomic_block:
            self._thread = threading.Thread(
                target=self._run, name=f"heartbeat-{self.generation.pk}", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self._stop.wait(settings.GENERATION_HEARTBEAT_S):
                try:
                    held = with_reconnect(
                        lambda: Generation.objects.filter(
                            pk=self.generation.pk,
                            status=GenerationStatus.RUNNING,
                            worker_id=self.generation.worker_id,
                        ).update(heartbeat_at=timezone.now())
                    )
                except DatabaseError:
                    logger.warning("generation %s: heartbeat not written", self.generation.pk, exc_info=True)
                    continue
                if not held:
                    return  # finished, canceled or re-queued: the main thread finds out at its next check
        finally:
            connection.close()  # this thread's own connection


# --- Scratch folders --------------------------------------------------------------------------------------

SCRATCH_NAME = re.compile(r"^generation-\d+-(?P<pid>\d+)@(?P<host>[^@/]+)-[^-]+$")


def scratch_prefix(generation_id: int) -> str:
    """A job's scratch folder names its process and host, so a folder whose process died is known."""
    return f"generation-{generation_id}-{os.getpid()}@{socket.gethostname()[:60]}-"


def scratch_clean_orphans() -> int:
    """Delete the scratch folders of render processes on this host that are gone (killed mid-render: their
    `finally` never ran). Called when a worker (or a prefork child) starts. Returns how many."""
    work_dir = settings.GENERATION_WORK_DIR
    if not work_dir.is_dir():
        return 0
    removed = 0
    host = socket.gethostname()[:60]
    for folder in work_dir.iterdir():
        match = SCRATCH_NAME.match(folder.name)
        if match is None or match["host"] != host or not folder.is_dir():
            continue
        if not holder_is_gone(f"{host}:{match['pid']}:"):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    if removed:
        logger.info("removed %s orphaned render scratch folders from %s", removed, work_dir)
    return removed
