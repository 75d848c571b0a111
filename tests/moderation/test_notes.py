"""Private notes: moderators see them on the case; no user-facing response or push ever carries them."""

import pytest
from django.utils import timezone

from moderation.models import Case
from tests.factories import GenerationFactory

pytestmark = pytest.mark.django_db

SECRET = "NOTE-7f3a: reporter seems to be a sock puppet"


@pytest.fixture
def pushed(monkeypatch):
    sent = []
    monkeypatch.setattr(
        "core.realtime.push_to_user",
        lambda *, user_id, event_type, data: sent.append((user_id, event_type, data)),
    )
    return sent


def test_a_note_shows_on_the_case_for_moderators(client_for, user, other_user, moderator, second_moderator):
    video = GenerationFactory(requester=user, published_at=timezone.now())
    client_for(other_user).post(
        "/api/v1/reports/", {"target_type": "video", "target_id": str(video.pk), "reason": "spam"}
    )
    case = Case.objects.get()

    added = client_for(moderator).post(f"/api/v1/moderation/cases/{case.pk}/notes/", {"text": SECRET})

    assert added.status_code == 201
    notes = client_for(second_moderator).get(f"/api/v1/moderation/cases/{case.pk}/").json()["notes"]
    assert [(n["author"], n["text"]) for n in notes] == [("mod", SECRET)]


def test_no_user_facing_response_or_push_carries_a_note(
    client_for, user, other_user, moderator, pushed, django_capture_on_commit_callbacks
):
    video = GenerationFactory(requester=user, published_at=timezone.now())
    client_for(other_user).post(
        "/api/v1/reports/", {"target_type": "video", "target_id": str(video.pk), "reason": "spam"}
    )
    case = Case.objects.get()
    mod = client_for(moderator)
    mod.post(f"/api/v1/moderation/cases/{case.pk}/notes/", {"text": SECRET})
    mod.post(f"/api/v1/moderation/cases/{case.pk}/claim/")
    with django_capture_on_commit_callbacks(execute=True):
        mod.post(
            f"/api/v1/moderation/cases/{case.pk}/decision/",
            {"action": "warn", "rule": "spam", "reason": "Spam"},
        )

    for person in (user, other_user):
        client = client_for(person)
        for path in (
            "/api/v1/reports/",
            "/api/v1/users/me/",
            "/api/v1/generations/",
            f"/api/v1/generations/{video.pk}/",
            "/api/v1/feed/",
            f"/api/v1/users/{user.username}/",
        ):
            response = client.get(path)
            assert response.status_code == 200, path
            assert SECRET.encode() not in response.content, path
    assert pushed and SECRET not in repr(pushed)


def test_a_note_needs_text(client_for, moderator, user):
    case_id = Case.objects.create(target_type_id=1, target_id=1).pk

    response = client_for(moderator).post(f"/api/v1/moderation/cases/{case_id}/notes/", {"text": ""})

    assert response.status_code == 400
    assert (
        client_for(moderator).post("/api/v1/moderation/cases/999999/notes/", {"text": "x"}).status_code == 404
    )
