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


def _user_facing_get_routes():
    """Every GET route of the moderation and accounts URL confs that is not a moderator's, with the
    parameters it needs; walked, so a new user-facing route is checked without being listed."""
    from django.urls import URLPattern, get_resolver

    import accounts.urls
    import moderation.urls

    for module in (accounts.urls, moderation.urls):
        for pattern in module.urlpatterns:
            assert isinstance(pattern, URLPattern)
            view = pattern.callback.view_class
            if not pattern.name.startswith("moderation-") and hasattr(view, "get"):
                (possibilities, *_rest), *_ = get_resolver().reverse_dict.getlist(pattern.name)
                yield pattern.name, possibilities[0][1]


def test_no_user_facing_moderation_or_accounts_response_carries_a_note_on_a_case_or_an_appeal(
    client_for, user, other_user, moderator, pushed, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    video = GenerationFactory(requester=user, published_at=timezone.now())
    client_for(other_user).post(
        "/api/v1/reports/", {"target_type": "video", "target_id": str(video.pk), "reason": "spam"}
    )
    case = Case.objects.get()
    mod = client_for(moderator)
    mod.post(f"/api/v1/moderation/cases/{case.pk}/notes/", {"text": SECRET})
    mod.post(f"/api/v1/moderation/cases/{case.pk}/claim/")
    with django_capture_on_commit_callbacks(execute=True):
        decision = mod.post(
            f"/api/v1/moderation/cases/{case.pk}/decision/", {"action": "warn", "rule": "spam", "reason": "Spam"}
        ).json()
    filed = client_for(user).post(f"/api/v1/decisions/{decision['id']}/appeal/", {"text": "Not spam."})
    assert filed.status_code == 201
    appeal_case = Case.objects.get(kind="appeal")
    mod.post(f"/api/v1/moderation/cases/{appeal_case.pk}/notes/", {"text": SECRET + " (appeal)"})
    mod.post(f"/api/v1/moderation/cases/{appeal_case.pk}/claim/")
    with django_capture_on_commit_callbacks(execute=True):
        mod.post(
            f"/api/v1/moderation/cases/{appeal_case.pk}/appeal-decision/",
            {"outcome": "denied", "reply": "It was spam."},
        )
    routes = list(_user_facing_get_routes())
    assert {"me-decisions", "reports", "users-me"} <= {name for name, _params in routes}

    assert SECRET.encode() not in filed.content
    for person in (user, other_user):
        client = client_for(person)
        for name, params in routes:
            path = reverse(name, kwargs={p: user.username for p in params})
            response = client.get(path)
            assert response.status_code == 200, (name, response.content[:200])
            assert b"NOTE-7f3a" not in response.content, name
    mine = client_for(user).get("/api/v1/me/decisions/").json()["results"]
    assert mine[0]["appeal_reply"] == "It was spam."
    assert "NOTE-7f3a" not in repr(pushed)
