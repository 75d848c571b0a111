"""The lease of a running render job (the generic parts are core.leases), and the scratch folders of render
processes.

A running job's row names its holder (`worker_id`: host:pid:token, new for every claim) and when it last proved
alive (`heartbeat_at`). `generation.runner` claims and checks the lease; the sweep there re-queues a job whose
lease expired. docs/ARCHITECTURE.md, "Faults", tells the whole story.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket

from django.conf import settings

from core.leases import DB_ERRORS, holder_is_gone, lease_is_stale, with_reconnect, worker_identity
from core.leases import Heartbeat as RowHeartbeat
from generation.models import Generation, GenerationStatus

logger = logging.getLogger(__name__)

__all__ = [
    "DB_ERRORS",
    "Heartbeat",
    "holder_is_gone",
    "lease_expired",
    "scratch_clean_orphans",
    "scratch_prefix",
    "with_reconnect",
    "worker_identity",
]


def lease_expired(generation: Generation) -> bool:
    return lease_is_stale(
        beat=generation.heartbeat_at or generation.started_at,
        worker_id=generation.worker_id,
        lease_s=settings.GENERATION_LEASE_S,
    )


class Heartbeat(RowHeartbeat):
    """A running job's heartbeat (core.leases.Heartbeat on its row, while it is `running` under this claim)."""

    def __init__(self, generation: Generation) -> None:
        self.generation = generation
        super().__init__(
            Generation.objects.filter(
                pk=generation.pk, status=GenerationStatus.RUNNING, worker_id=generation.worker_id
            ),
            interval_s=settings.GENERATION_HEARTBEAT_S,
            name=f"generation {generation.pk}",
        )


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
