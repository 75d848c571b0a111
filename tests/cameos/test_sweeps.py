"""The periodic sweeps: stuck verifications are sent again; abandoned biometric data is destroyed."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from cameos import services
from cameos.models import Cameo, CameoUpload, ErasureRecord, LivenessChallenge
from tests.factories import CameoFactory

pytestmark = pytest.mark.django_db


def age(cameo, **delta):
    Cameo.objects.filter(pk=cameo.pk).update(updated_at=timezone.now() - timedelta(**delta))


def test_stuck_verifications_are_sent_again(user, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "cameos.tasks.verify_cameo_task.apply_async", lambda args, kwargs=None: sent.append(args)
    )
    stuck = CameoFactory(owner=user, status="processing")  # no lease: its worker never wrote one
    age(stuck, minutes=20)
    fresh = CameoFactory(status="uploaded")
    CameoFactory(status="verified")

    assert services.requeue_stuck_verifications() == 1

    assert sent == [(stuck.pk,)]
    assert fresh.pk not in [args[0] for args in sent]


def test_abandoned_biometric_data_is_erased_after_retention(user, settings):
    recording = default_storage.save("cameos/1/recordings/old.mp4", ContentFile(b"face"))
    abandoned = CameoFactory(owner=user, status="rejected", recording=recording, transcript="4 7 2 9")
    age(abandoned, days=8)
    recent = CameoFactory(status="rejected")
    verified = CameoFactory(status="verified")
    age(verified, days=30)
    challenge = LivenessChallenge.objects.create(user=user, digits="1", expires_at=timezone.now())
    upload = CameoUpload.objects.create(
        owner=user, challenge=challenge, size=10, expires_at=timezone.now() - timedelta(seconds=1)
    )
    settings.CAMEO_UPLOAD_SPOOL_DIR.mkdir(parents=True, exist_ok=True)
    (settings.CAMEO_UPLOAD_SPOOL_DIR / f"{upload.pk}.part").write_bytes(b"partial")

    result = services.purge_abandoned()

    assert result["cameos"] == 1 and result["uploads"] == 1
    assert not Cameo.objects.filter(pk=abandoned.pk).exists()
    assert not default_storage.exists(recording)
    assert ErasureRecord.objects.get(cameo_id=abandoned.pk).reason == "retention"
    assert Cameo.objects.filter(pk__in=[recent.pk, verified.pk]).count() == 2
    assert not list(settings.CAMEO_UPLOAD_SPOOL_DIR.glob("*"))
