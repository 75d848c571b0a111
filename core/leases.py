"""Leases on rows that a worker is processing: who holds one, whether its holder is alive, and a heartbeat.

A row being processed names its holder (a worker id: host:pid:token, new for every claim) and when it last
proved alive (a heartbeat time, refreshed by `Heartbeat`'s thread). Another delivery of the same work does
nothing while the lease is live; a lease whose heartbeat is older than the lease length, or whose holder is a
dead process on this host, is taken over. Used by render jobs (`generation.lease`, `generation.runner`) and
by cameo verification (`cameos.services`); docs/ARCHITECTURE.md, "Faults", tells the whole story.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.db.models import QuerySet
from django.utils import timezone

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


def lease_is_stale(*, beat: datetime | None, worker_id: str, lease_s: float) -> bool:
    """Whether a lease may be taken over: no heartbeat, one older than `lease_s`, or a holder known dead."""
    stale = beat is None or beat < timezone.now() - timedelta(seconds=lease_s)
    return stale or holder_is_gone(worker_id)


class Heartbeat:
    """Keeps a lease fresh from a thread of its own while the work runs, so a long step without callbacks
    (a model loading cold, a long check) never looks like a dead worker; only the process dying stops it.
    (A hung process is ended by the task's time limit.) Every `interval_s` it sets `heartbeat_field` to now on
    `rows`, a queryset that matches the row only while the lease is still this holder's; once it matches
    nothing (finished, released, taken over) the thread ends. Not started inside an enclosing transaction
    (tests): another connection could not see the row."""

    def __init__(
        self, rows: QuerySet[Any], *, interval_s: float, name: str, heartbeat_field: str = "heartbeat_at"
    ) -> None:
        self.rows = rows
        self.interval_s = interval_s
        self.name = name
        self.heartbeat_field = heartbeat_field
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        if not connection.in_atomic_block:
            self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.name}", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval_s):
                try:
                    held = with_reconnect(lambda: self.rows.update(**{self.heartbeat_field: timezone.now()}))
                except DatabaseError:
                    logger.warning("%s: heartbeat not written", self.name, exc_info=True)
                    continue
                if not held:
                    return  # finished, released or taken over: the main thread finds out at its next check
        finally:
            connection.close()  # this thread's own connection
