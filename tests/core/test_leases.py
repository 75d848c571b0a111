"""core.leases: who holds a lease, whether it may be taken over, and the heartbeat thread (a real thread on
its own database connection, so the test commits)."""

import os
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from cameos.models import Cameo
from core import leases
from tests.factories import CameoFactory

HOST = socket.gethostname()[:60]


def ended_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_worker_identity_names_this_host_and_process_and_is_new_for_every_claim():
    first, second = leases.worker_identity(), leases.worker_identity()
    assert first.startswith(f"{HOST}:{os.getpid()}:") and first != second


@pytest.mark.parametrize(
    ("worker_id", "gone"),
    [
        (f"{HOST}:{os.getppid()}:x", False),  # alive on this host
        (f"{HOST}:{os.getpid()}:x", True),  # this very process: a task that ended without releasing
        ("another-host:1:x", False),  # elsewhere: only the heartbeat can tell
        ("", False),
        (f"{HOST}:not-a-pid:x", False),
    ],
)
def test_holder_is_gone(worker_id, gone):
    assert leases.holder_is_gone(worker_id) is gone


def test_a_dead_local_holder_is_gone():
    assert leases.holder_is_gone(f"{HOST}:{ended_pid()}:x")


def test_a_lease_is_stale_without_a_recent_beat_or_with_a_dead_holder():
    now = timezone.now()
    elsewhere = "another-host:1:x"
    assert not leases.lease_is_stale(beat=now - timedelta(seconds=59), worker_id=elsewhere, lease_s=60)
    assert leases.lease_is_stale(beat=now - timedelta(seconds=61), worker_id=elsewhere, lease_s=60)
    assert leases.lease_is_stale(beat=None, worker_id=elsewhere, lease_s=60)
    assert leases.lease_is_stale(beat=now, worker_id=f"{HOST}:{ended_pid()}:x", lease_s=60)


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_refreshes_the_row_while_it_is_held_and_stops_once_it_is_not():
    cameo = CameoFactory(status="processing")
    claimed = timezone.now() - timedelta(minutes=5)
    Cameo.objects.filter(pk=cameo.pk).update(verification_worker_id="me", verification_heartbeat_at=claimed)
    held = Cameo.objects.filter(pk=cameo.pk, verification_worker_id="me")
    beat = leases.Heartbeat(held, interval_s=0.05, name="test", heartbeat_field="verification_heartbeat_at")

    with beat:
        deadline = time.monotonic() + 10
        while Cameo.objects.get(pk=cameo.pk).verification_heartbeat_at == claimed:
            assert time.monotonic() < deadline, "no heartbeat written"
            time.sleep(0.05)
        Cameo.objects.filter(pk=cameo.pk).update(verification_worker_id="someone else")  # taken over
        beat._thread.join(timeout=10)
        assert not beat._thread.is_alive()  # it found the lease gone and ended by itself
