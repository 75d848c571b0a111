"""A moderator's decision takes effect everywhere at once and tells the affected user and the reporters."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import tokens_issue
from cameos.models import Cameo
from core.realtime import user_group
from moderation.models import Case, Decision, Report
from moderation.services import flag_target
from tests.factories import PASSWORD, CameoFactory, GenerationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushed(monkeypatch):
    """Every event pushed to a user's sockets, as (user_id, type, data)."""
    sent = []

    def push(*, user_id, event_type, data):
        sent.append((user_id, event_type, data))

    monkeypatch.setattr("core.realtime.push_to_user", push)
    monkeypatch.setattr("cameos.services.push_to_user", push)  # imported by name there
    return sent


@pytest.fixture
def video(user):
    generation = GenerationFactory(requester=user, published_at=timezone.now())
    generation.video = default_storage.save(
        f"generations/{user.pk}/{generation.pk}/video.mp4", ContentFile(b"\0" * 64)
    )
    generation.save(update_fields=["video"])
    return generation


def _report(client_for, reporter, target_type, target_id, reason="harassment"):
    response = client_for(reporter).post(
        "/api/v1/reports/", {"target_type": target_type, "target_id": str(target_id), "reason": reason}
    )
    assert response.status_code == 201, response.content
    return Case.objects.get(pk=Report.objects.get(pk=response.json()["id"]).case_id)


def _decide(client, case, claim=True, **body):
    if claim:
        assert client.post(f"/api/v1/moderation/cases/{case.pk}/claim/").status_code == 200
    return client.post(f"/api/v1/moderation/cases/{case.pk}/decision/", body)


def test_removing_a_video_takes_it_out_of_feed_detail_and_media(
    client_for, user, other_user, moderator, video, pushed, django_capture_on_commit_callbacks
):
    case = _report(client_for, other_user, "video", video.pk, "violence")
    viewer = client_for(other_user)
    media_url = viewer.get(f"/api/v1/generations/{video.pk}/").json()["video_url"]
    assert viewer.get(media_url).status_code == 200
    assert [g["id"] for g in viewer.get("/api/v1/feed/").json()["results"]] == [video.pk]

    with django_capture_on_commit_callbacks(execute=True):
        response = _decide(
            client_for(moderator), case, action="remove_content", rule="violence", reason="Gore", strike=True
        )

    assert response.status_code == 201
    assert viewer.get("/api/v1/feed/").json()["results"] == []
    assert viewer.get(f"/api/v1/generations/{video.pk}/").status_code == 404
    assert viewer.get(media_url).status_code == 404
    decision = Decision.objects.get()
    assert (decision.action, decision.rule, decision.strike, decision.moderator) == (
        "remove_content",
        "violence",
        True,
        moderator,
    )
    assert Case.objects.get(pk=case.pk).status == "resolved"
    told = {(uid, kind): data for uid, kind, data in pushed}
    assert told[(user.pk, "moderation.decision")] == {
        "target_type": "video",
        "target_id": str(video.pk),
        "action": "remove_content",
        "rule": "violence",
        "reason": "Gore",
        "strike": True,
        "suspended_until": None,
    }
    assert told[(other_user.pk, "moderation.report_resolved")]["outcome"] == "actioned"
    # Nobody is told who decided.
    assert all("moderator" not in data and moderator.username not in data.values() for _u, _k, data in pushed)


def test_the_reporter_sees_the_outcome_of_a_dismissal(
    client_for, other_user, moderator, video, pushed, django_capture_on_commit_callbacks
):
    case = _report(client_for, other_user, "video", video.pk, "spam")

    with django_capture_on_commit_callbacks(execute=True):
        assert _decide(client_for(moderator), case, action="dismiss").status_code == 201

    mine = client_for(other_user).get("/api/v1/reports/").json()["results"]
    assert [(r["status"], r["outcome"]) for r in mine] == [("resolved", "dismissed")]
    assert mine[0]["resolved_at"] is not None
    assert [kind for _uid, kind, _data in pushed] == ["moderation.report_resolved"]
    assert client_for(other_user).get(f"/api/v1/generations/{video.pk}/").status_code == 200


def test_a_suspension_refuses_login_refresh_and_tokens_and_closes_sockets(
    client_for, api_client, user, other_user, moderator, django_capture_on_commit_callbacks
):
    tokens = tokens_issue(user=user)
    layer = get_channel_layer()
    socket = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(user_group(user.pk), socket)
    case = _report(client_for, other_user, "account", user.username)

    with django_capture_on_commit_callbacks(execute=True):
        response = _decide(client_for(moderator), case, action="suspend", rule="harassment", suspend_days=7)

    assert response.status_code == 201
    until = User.objects.get(pk=user.pk).suspended_until
    assert (until - timezone.now()).days == 6
    closed = async_to_sync(asyncio.wait_for)(layer.receive(socket), 5)
    assert (closed["type"], closed["reason"]) == ("realtime.close", "suspended")
    login = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD})
    assert login.status_code == 401
    assert api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}).status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get("/api/v1/users/me/").status_code == 401
    fresh = tokens_issue(user=User.objects.get(pk=user.pk))  # even one minted after (say by a bug)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {fresh['access']}")
    assert api_client.get("/api/v1/users/me/").json()["code"] == "account_suspended"


def test_a_suspension_ends_on_its_own(client_for, api_client, user):
    User.objects.filter(pk=user.pk).update(suspended_until=timezone.now() - timezone.timedelta(seconds=1))

    login = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD})

    assert login.status_code == 200


def test_a_ban_deactivates_the_account(
    client_for, api_client, user, other_user, moderator, django_capture_on_commit_callbacks
):
    case = _report(client_for, other_user, "account", user.username)

    with django_capture_on_commit_callbacks(execute=True):
        assert _decide(client_for(moderator), case, action="ban", rule="impersonation").status_code == 201

    assert User.objects.get(pk=user.pk).is_active is False
    login = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD})
    assert login.status_code == 401


def test_a_held_cameo_is_verified_or_rejected_here(
    client_for, user, other_user, moderator, pushed, django_capture_on_commit_callbacks
):
    held = CameoFactory(owner=user, status="needs_review", rejection_reason="likeness_match")
    other = CameoFactory(owner=other_user, status="needs_review", rejection_reason="likeness_match")
    first = flag_target(target=held, source="likeness_match", reason="possible_impersonation").case
    second = flag_target(target=other, source="likeness_match", reason="possible_impersonation").case
    client = client_for(moderator)

    with django_capture_on_commit_callbacks(execute=True):
        assert _decide(client, first, action="verify_cameo").status_code == 201
        assert (
            _decide(client, second, action="reject_cameo", rule="impersonation", reason="Not you").status_code
            == 201
        )

    assert Cameo.objects.get(pk=held.pk).status == "verified"
    assert (Cameo.objects.get(pk=other.pk).status, Cameo.objects.get(pk=other.pk).rejection_reason) == (
        "rejected",
        "review_rejected",
    )
    assert [(uid, kind) for uid, kind, _d in pushed if kind == "cameo.reviewed"] == [
        (user.pk, "cameo.reviewed"),
        (other_user.pk, "cameo.reviewed"),
    ]
    told = [
        (uid, data["action"], data["reason"]) for uid, kind, data in pushed if kind == "moderation.decision"
    ]
    assert told == [(other_user.pk, "reject_cameo", "Not you")]


def test_deciding_needs_your_own_live_claim(client_for, user, moderator, second_moderator, video):
    case = flag_target(target=video, source="output_check", reason="x").case
    client_for(second_moderator).post(f"/api/v1/moderation/cases/{case.pk}/claim/")

    unclaimed = _decide(client_for(moderator), case, claim=False, action="dismiss")

    assert (unclaimed.status_code, unclaimed.json()["code"]) == (409, "case_not_claimed_by_you")
    assert not Decision.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"action": "warn"}, "rule_required"),
        ({"action": "suspend", "rule": "spam"}, "suspension_days_required"),
        ({"action": "verify_cameo"}, "decision_not_applicable"),
        ({"action": "dismiss", "strike": True, "rule": "spam"}, "decision_not_applicable"),
        ({"action": "verify_cameo", "rule": "x"}, "decision_not_applicable"),
        ({"action": "uphold", "rule": "x"}, "validation_error"),
        ({"action": "warn", "rule": "spam", "moderator_note": "x"}, "validation_error"),
    ],
)
def test_a_decision_that_does_not_fit_is_refused_and_changes_nothing(
    client_for, moderator, video, body, code
):
    case = flag_target(target=video, source="output_check", reason="x").case

    response = _decide(client_for(moderator), case, **body)

    assert (response.status_code, response.json()["code"]) == (400, code)
    assert Case.objects.get(pk=case.pk).status == "claimed"


def test_a_decided_case_cannot_be_decided_again(client_for, moderator, video):
    case = flag_target(target=video, source="output_check", reason="x").case
    _decide(client_for(moderator), case, action="dismiss")

    again = client_for(moderator).post(f"/api/v1/moderation/cases/{case.pk}/decision/", {"action": "dismiss"})

    assert again.json()["code"] == "case_resolved"


def test_a_warning_is_recorded_in_the_history_of_later_cases(client_for, user, moderator, video):
    case = flag_target(target=video, source="output_check", reason="x").case
    _decide(client_for(moderator), case, action="warn", rule="spam", strike=True)
    later = flag_target(target=video, source="output_check", reason="x").case

    body = client_for(moderator).get(f"/api/v1/moderation/cases/{later.pk}/").json()

    [earlier] = body["earlier_cases_on_target"]
    assert [(d["action"], d["rule"], d["strike"], d["moderator"]) for d in earlier["decisions"]] == [
        ("warn", "spam", True, "mod")
    ]


def test_a_suspended_or_banned_account_is_told_why_at_sign_in_and_refresh(
    client_for, api_client, user, other_user, moderator, django_capture_on_commit_callbacks
):
    """Not the generic `no_active_account`: the stable code, once the password is right (a wrong one still
    learns nothing), with the restricted token that reaches the account's decisions and appeals."""
    tokens = tokens_issue(user=user)
    case = _report(client_for, other_user, "account", user.username)
    with django_capture_on_commit_callbacks(execute=True):
        _decide(client_for(moderator), case, action="suspend", rule="harassment", suspend_days=7)
    login = {"username": user.username.upper(), "password": PASSWORD}

    suspended = api_client.post("/api/v1/auth/token/", login)
    refreshed = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    wrong = api_client.post("/api/v1/auth/token/", {**login, "password": "not-it-at-all"})
    User.objects.filter(pk=user.pk).update(suspended_until=None)
    with django_capture_on_commit_callbacks(execute=True):
        later = flag_target(target=User.objects.get(pk=user.pk), source="output_check", reason="x").case
        _decide(client_for(moderator), later, action="ban", rule="impersonation")
    banned = api_client.post("/api/v1/auth/token/", login)

    assert (suspended.status_code, suspended.json()["code"]) == (401, "account_suspended")
    assert suspended.json()["extra"]["suspended_until"].startswith(str(timezone.now().year))
    assert (refreshed.status_code, refreshed.json()["code"]) == (401, "account_suspended")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "no_active_account")
    assert (banned.status_code, banned.json()["code"]) == (401, "account_banned")
    restricted = APIClient()
    restricted.credentials(HTTP_AUTHORIZATION=f"Restricted {banned.json()['extra']['restricted_token']}")
    assert [d["action"] for d in restricted.get("/api/v1/me/decisions/").json()["results"]] == ["ban", "suspend"]
    assert restricted.get("/api/v1/users/me/").status_code == 401  # nothing else
    restricted.credentials(HTTP_AUTHORIZATION=f"Restricted {suspended.json()['extra']['restricted_token']}x")
    assert restricted.get("/api/v1/me/decisions/").json()["code"] == "token_not_valid"


def test_a_suspended_accounts_posts_and_cameo_are_out_of_use(client_for, user, other_user, moderator, video):
    CameoFactory(owner=user, permission="everyone")
    viewer = client_for(other_user)
    assert viewer.post("/api/v1/generations/", {"prompt": f"@{user.username} waves"}).status_code == 201
    case = flag_target(target=user, source="output_check", reason="x").case

    _decide(client_for(moderator), case, action="suspend", rule="spam", suspend_days=1)

    assert viewer.get("/api/v1/feed/").json()["results"] == []
    assert viewer.get(f"/api/v1/posts/{video.pk}/").status_code == 404
    refused = viewer.post("/api/v1/generations/", {"prompt": f"@{user.username} waves again"})
    assert (refused.status_code, refused.json()["code"]) == (404, "cameo_not_found")
