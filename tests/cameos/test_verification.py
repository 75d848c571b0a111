"""Verification end to end on the real models: upload through the API, the task runs, the cameo ends
verified, rejected with the right reason, or held for review when its face is already someone's."""

import re
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from cameos import services
from cameos.models import Cameo, FaceEmbedding, LivenessChallenge
from moderation.models import Case
from tests.factories import UserFactory
from tests.fixtures import recordings

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def events(monkeypatch):
    sent = []
    monkeypatch.setattr(
        "cameos.services.push_to_user",
        lambda *, user_id, event_type, data: sent.append((user_id, event_type, data)),
    )
    return sent


def upload(client_for, user, path, digits, django_capture_on_commit_callbacks):
    challenge = LivenessChallenge.objects.create(user=user, digits=digits, expires_at="2999-01-01T00:00:00Z")
    with path.open("rb") as data, django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post(
            "/api/v1/cameos/", {"challenge_id": challenge.pk, "recording": data}, format="multipart"
        )
    assert response.status_code == 202, response.json()
    return Cameo.objects.get(pk=response.json()["id"])


def test_a_real_face_saying_the_right_digits_is_verified(
    client_for, user, recording, django_capture_on_commit_callbacks, events
):
    cameo = upload(client_for, user, recording(recordings.GOOD), "4729", django_capture_on_commit_callbacks)

    cameo.refresh_from_db()
    assert cameo.status == "verified", cameo.verification_report
    assert cameo.verified_at is not None
    assert FaceEmbedding.objects.get(cameo=cameo).dimensions == 128
    assert cameo.voice_embedding and cameo.transcript
    assert default_storage.exists(cameo.reference_image.name)
    # an unguessable name, not one derived from ids (issue #11, item 11)
    assert re.fullmatch(rf"cameos/{user.pk}/references/[0-9a-f]{{32}}\.png", cameo.reference_image.name)
    progress = [e[2] for e in events if e[1] == "cameo.progress"]
    assert [p["stage"] for p in progress] == ["started", "analysing", "likeness_search", "finished"]
    assert progress[-1]["status"] == "verified" and progress[-1]["progress"] == 1.0
    assert all(e[0] == user.pk for e in events)
    body = client_for(user).get(f"/api/v1/cameos/{cameo.pk}/").json()
    assert body["status"] == "verified"
    assert not {"transcript", "voice_embedding", "verification_report", "recording"} & set(body)


@pytest.mark.parametrize(
    ("spec", "digits", "reason"),
    [
        (recordings.WRONG_DIGITS, "4729", "digits_mismatch"),
        (recordings.NO_FACE, "4729", "no_face"),
        (recordings.TWO_PEOPLE, "4729", "multiple_faces"),
        (recordings.STILL_SILENT, "4729", "static_image"),
    ],
    ids=["wrong_digits", "no_face", "two_people", "still_photo"],
)
def test_bad_recordings_are_rejected_with_the_reason(
    client_for, user, recording, django_capture_on_commit_callbacks, events, spec, digits, reason
):
    cameo = upload(client_for, user, recording(spec), digits, django_capture_on_commit_callbacks)

    cameo.refresh_from_db()
    assert (cameo.status, cameo.rejection_reason) == ("rejected", reason)
    assert not FaceEmbedding.objects.filter(cameo=cameo).exists()
    assert client_for(user).get(f"/api/v1/cameos/{cameo.pk}/").json()["rejection_reason"] == reason


def test_a_second_account_with_the_same_face_is_held_for_review(
    client_for, user, recording, django_capture_on_commit_callbacks, events
):
    first = upload(client_for, user, recording(recordings.GOOD), "4729", django_capture_on_commit_callbacks)
    impostor = UserFactory(username="impostor")

    second = upload(
        client_for, impostor, recording(recordings.GOOD_TURN), "3816", django_capture_on_commit_callbacks
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == "verified"
    assert (second.status, second.rejection_reason) == ("needs_review", "likeness_match")
    finished = [e[2] for e in events if e[0] == impostor.pk and e[1] == "cameo.progress"][-1]
    assert (finished["stage"], finished["status"], finished["status_reason"]) == (
        "finished",
        "needs_review",
        "likeness_match",
    )
    assert finished["status_message"].startswith("Held for review: it looks like another person's cameo.")
    body = client_for(impostor).get(f"/api/v1/cameos/{second.pk}/").json()
    assert (body["status"], body["status_reason"]) == ("needs_review", "likeness_match")
    assert body["status_message"] == (
        "Held for review: it looks like another person's cameo. "
        "A moderator will look at it and decide; you will be told the outcome."
    )
    case = Case.objects.get(target_id=second.pk)
    flag = case.flags.get()
    assert (flag.source, flag.reason) == ("likeness_match", "possible_impersonation")
    assert flag.evidence["matches"][0]["cameo_id"] == first.pk


def test_verification_is_idempotent(client_for, user, recording, django_capture_on_commit_callbacks, events):
    cameo = upload(client_for, user, recording(recordings.GOOD), "4729", django_capture_on_commit_callbacks)
    verified_at = Cameo.objects.get(pk=cameo.pk).verified_at

    first_reference = Cameo.objects.get(pk=cameo.pk).reference_image.name

    services.cameo_verify(cameo_id=cameo.pk)  # delivered again after it finished
    Cameo.objects.filter(pk=cameo.pk).update(status="processing")  # as if a worker died mid-way
    with django_capture_on_commit_callbacks(execute=True):
        services.cameo_verify(cameo_id=cameo.pk)

    cameo.refresh_from_db()
    assert cameo.status == "verified"
    assert cameo.verified_at >= verified_at
    assert FaceEmbedding.objects.filter(cameo=cameo).count() == 1
    _, references = default_storage.listdir(f"cameos/{user.pk}/references")
    assert references == [Path(cameo.reference_image.name).name]  # the replaced crop is gone
    assert cameo.reference_image.name != first_reference
