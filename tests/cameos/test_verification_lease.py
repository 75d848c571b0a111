"""The lease of a verification under way (core.leases on the cameo row): a live holder blocks another
delivery; a dead holder's cameo is taken over at once; the sweep sends a cameo whose heartbeat stopped again,
at most CAMEO_VERIFICATION_MAX_ATTEMPTS starts in all, then rejects it `verification_interrupted`."""

import io
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image
from skimage import data as skimage_data

from cameos import reasons, services, tasks
from cameos.models import Cameo
from tests.factories import CameoFactory

pytestmark = pytest.mark.django_db

LIVE_ELSEWHERE = "another-host:4242:cafe0001"  # a holder on another machine: only its heartbeat tells


@pytest.fixture
def sent(monkeypatch):
    """The verification messages the sweep sends (task name, cameo id)."""
    messages = []
    for task in (tasks.verify_cameo_task, tasks.verify_character_task):
        monkeypatch.setattr(
            task, "apply_async", lambda args, kwargs=None, _name=task.name: messages.append((_name, args[0]))
        )
    return messages


def dead_local_holder() -> str:
    """The worker id of a process of this host that has ended (as a worker `kill -9`ed mid-verification)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return f"{socket.gethostname()[:60]}:{process.pid}:dead0001"


def held(*, worker_id: str, beat_age_s: float, attempts: int = 1, **fields) -> Cameo:
    cameo = CameoFactory(status="processing", verification_attempts=attempts, **fields)
    Cameo.objects.filter(pk=cameo.pk).update(
        verification_worker_id=worker_id,
        verification_heartbeat_at=timezone.now() - timedelta(seconds=beat_age_s),
        updated_at=timezone.now() - timedelta(seconds=beat_age_s),
    )
    return Cameo.objects.get(pk=cameo.pk)


def pet_character() -> dict:
    buffer = io.BytesIO()
    Image.fromarray(skimage_data.chelsea()).save(buffer, format="PNG")
    stored = default_storage.save("cameos/1/references/pet.png", ContentFile(buffer.getvalue()))
    return {"kind": "character", "handle": "chelsea", "reference_image": stored}


def test_a_live_holder_blocks_a_second_verification(sent):
    person = held(worker_id=LIVE_ELSEWHERE, beat_age_s=5)
    character = held(worker_id=LIVE_ELSEWHERE, beat_age_s=5, **pet_character())

    services.cameo_verify(cameo_id=person.pk)  # redelivered (e.g. by the broker) while it is verified
    services.character_verify(cameo_id=character.pk)
    assert services.requeue_stuck_verifications() == 0

    for cameo in (person, character):
        after = Cameo.objects.get(pk=cameo.pk)
        assert (after.status, after.verification_worker_id, after.verification_attempts) == (
            "processing",
            LIVE_ELSEWHERE,
            1,
        )
        assert after.verification_heartbeat_at == cameo.verification_heartbeat_at
    assert sent == []


@pytest.mark.parametrize("holder", ["dead_local_pid", "stale_heartbeat"])
def test_a_dead_holders_cameo_is_taken_over_by_a_redelivery(holder, events_off):
    if holder == "dead_local_pid":
        cameo = held(worker_id=dead_local_holder(), beat_age_s=1, **pet_character())  # beat still fresh
    else:
        cameo = held(worker_id=LIVE_ELSEWHERE, beat_age_s=61, **pet_character())

    services.character_verify(cameo_id=cameo.pk)

    cameo.refresh_from_db()
    assert cameo.status == "verified", (cameo.status, cameo.rejection_reason)
    assert cameo.verification_attempts == 2
    assert (cameo.verification_worker_id, cameo.verification_heartbeat_at) == ("", None)  # released


@pytest.fixture
def events_off(monkeypatch):
    monkeypatch.setattr("cameos.services.push_to_user", lambda **kwargs: None)


def test_the_sweep_sends_again_only_after_the_lease(sent, settings):
    settings.CAMEO_VERIFICATION_LEASE_S = 60
    beating = held(worker_id=LIVE_ELSEWHERE, beat_age_s=30)
    stopped = held(worker_id=LIVE_ELSEWHERE, beat_age_s=61)
    stopped_character = held(worker_id=LIVE_ELSEWHERE, beat_age_s=61, **pet_character())

    assert services.requeue_stuck_verifications() == 2

    assert sorted(sent) == sorted(
        [("cameos.verify", stopped.pk), ("cameos.verify_character", stopped_character.pk)]
    )
    assert Cameo.objects.get(pk=beating.pk).verification_worker_id == LIVE_ELSEWHERE
    released = Cameo.objects.get(pk=stopped.pk)
    assert (released.status, released.verification_worker_id, released.verification_heartbeat_at) == (
        "processing",
        "",
        None,
    )
    # sent once: sent again only if the delivery has not started one lease later
    assert services.requeue_stuck_verifications() == 0


def test_attempts_are_bounded_then_rejected_so_the_owner_records_again(sent, settings, events_off):
    settings.CAMEO_VERIFICATION_MAX_ATTEMPTS = 3
    swept = held(worker_id=LIVE_ELSEWHERE, beat_age_s=61, attempts=3)
    redelivered = held(worker_id=dead_local_holder(), beat_age_s=1, attempts=3)
    last_try = held(worker_id=LIVE_ELSEWHERE, beat_age_s=61, attempts=2)

    assert services.requeue_stuck_verifications() == 1
    services.cameo_verify(cameo_id=redelivered.pk)

    assert sent == [("cameos.verify", last_try.pk)]
    for cameo in (swept, redelivered):
        cameo.refresh_from_db()
        assert (cameo.status, cameo.rejection_reason) == ("rejected", "verification_interrupted")
        assert (cameo.verification_worker_id, cameo.verification_heartbeat_at) == ("", None)
    assert reasons.status_message(status="rejected", reason="verification_interrupted") == (
        "Rejected: we could not finish checking your recording. Ask for a new challenge and record again."
    )


def test_a_verification_that_raises_gives_its_lease_up(events_off):
    cameo = CameoFactory(status="uploaded", recording="cameos/1/recordings/gone.mp4")

    with pytest.raises(FileNotFoundError):  # an OSError: the task retries it
        services.cameo_verify(cameo_id=cameo.pk)

    cameo.refresh_from_db()
    assert (cameo.status, cameo.verification_attempts) == ("processing", 1)
    assert (cameo.verification_worker_id, cameo.verification_heartbeat_at) == ("", None)


def test_an_upload_whose_message_was_lost_is_sent_after_the_stuck_delay(sent, settings):
    settings.CAMEO_VERIFICATION_STUCK_AFTER_SECONDS = 900
    lost = CameoFactory(status="uploaded")
    Cameo.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - timedelta(minutes=20))
    CameoFactory(status="uploaded")  # its message is probably still queued

    assert services.requeue_stuck_verifications() == 1
    assert sent == [("cameos.verify", lost.pk)]
