"""Users report videos, cameos and accounts; each report joins the target's open case."""

import pytest
from rest_framework.throttling import ScopedRateThrottle

from accounts.models import Block
from moderation.models import REPORT_SEVERITY, Case, Flag, Report, ReportReason, ReportStatus
from tests.factories import CameoFactory, GenerationFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/"


@pytest.fixture
def video(user):
    return GenerationFactory(requester=user, published_at="2026-11-01T00:00:00Z")


def _report(client, target_type, target_id, reason="harassment", **extra):
    return client.post(
        URL, {"target_type": target_type, "target_id": str(target_id), "reason": reason, **extra}
    )


def test_a_user_reports_a_published_video_and_it_opens_a_case(client_for, other_user, video):
    response = _report(client_for(other_user), "video", video.pk, "non_consensual_likeness", text="That's me")

    assert response.status_code == 201
    body = response.json()
    assert (body["target_type"], body["target_id"], body["status"], body["outcome"]) == (
        "video",
        str(video.pk),
        "open",
        "",
    )
    report = Report.objects.get()
    assert report.case.target == video
    flag = Flag.objects.get()
    assert (flag.source, flag.reason, flag.evidence, flag.priority) == (
        "report",
        "non_consensual_likeness",
        {"report_id": report.pk},
        90,
    )
    assert "case" not in body


def test_a_cameo_and_an_account_can_be_reported(client_for, user, other_user):
    cameo = CameoFactory(owner=user, permission="everyone")
    client = client_for(other_user)

    assert _report(client, "cameo", cameo.pk, "impersonation").status_code == 201
    response = _report(client, "account", user.username, "spam")

    assert response.status_code == 201
    assert response.json()["target_id"] == user.username
    assert {r.case.target for r in Report.objects.all()} == {cameo, user}


def test_a_second_open_report_on_the_same_target_is_refused_with_409(client_for, other_user, video):
    client = client_for(other_user)
    first = _report(client, "video", video.pk).json()

    again = _report(client, "video", video.pk, "spam")

    assert again.status_code == 409
    assert again.json()["code"] == "report_already_open"
    assert again.json()["extra"] == {"report_id": first["id"]}
    assert (Report.objects.count(), Flag.objects.count()) == (1, 1)


def test_once_the_first_report_is_resolved_the_reporter_may_report_again(client_for, other_user, video):
    client = client_for(other_user)
    _report(client, "video", video.pk)
    Report.objects.update(status=ReportStatus.RESOLVED)

    assert _report(client, "video", video.pk).status_code == 201


def test_reports_of_several_users_on_one_target_join_one_case(client_for, other_user, video, make_user):
    _report(client_for(other_user), "video", video.pk, "spam")
    _report(client_for(make_user(username="zoe")), "video", video.pk, "minor_safety")

    case = Case.objects.get()
    assert (case.reports.count(), case.flags.count(), case.priority) == (2, 2, 100)


def test_a_target_the_reporter_cannot_see_answers_404(client_for, user, other_user, make_user):
    draft = GenerationFactory(requester=user)  # unpublished: only its requester sees it
    Block.objects.create(blocker=user, blocked=other_user)
    client = client_for(other_user)

    assert _report(client_for(make_user(username="zoe")), "video", draft.pk).status_code == 404
    assert _report(client, "account", user.username).status_code == 404
    assert _report(client, "video", "not-a-number").json()["code"] == "report_target_not_found"
    assert _report(client, "account", "ghost").status_code == 404
    assert not Case.objects.exists()


def test_nobody_reports_themselves_or_their_own_video(client_for, user, video):
    client = client_for(user)

    assert _report(client, "account", user.username).json()["code"] == "cannot_report_yourself"
    assert _report(client, "video", video.pk).status_code == 400


def test_bad_input_is_a_400_naming_the_field(client_for, other_user, video):
    client = client_for(other_user)

    assert _report(client, "comment", 1).json()["extra"]["fields"].keys() == {"target_type"}
    assert _report(client, "video", video.pk, "rude").json()["extra"]["fields"].keys() == {"reason"}
    assert _report(client, "video", video.pk, moderator="me").json()["extra"]["fields"].keys() == {
        "moderator"
    }
    assert _report(client, "video", video.pk, text="x" * 2001).status_code == 400


def test_reporters_list_only_their_own_reports(client_for, user, other_user, video, make_user):
    _report(client_for(other_user), "video", video.pk)
    _report(client_for(make_user(username="zoe")), "account", user.username)

    mine = client_for(other_user).get(URL).json()["results"]

    assert [(r["target_type"], r["status"]) for r in mine] == [("video", "open")]
    assert client_for(user).get(URL).json()["results"] == []


def test_anonymous_may_neither_report_nor_list(api_client, video):
    assert _report(api_client, "video", video.pk).status_code == 401
    assert api_client.get(URL).status_code == 401


def test_reporting_is_throttled_per_user(client_for, other_user, make_user, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"reports": "2/hour"})
    client = client_for(other_user)
    targets = [UserFactory(username=f"t{i}") for i in range(3)]

    statuses = [_report(client, "account", t.username).status_code for t in targets]

    assert statuses == [201, 201, 429]
    assert client.get(URL).status_code == 200  # reading your reports is not throttled
    assert _report(client_for(make_user(username="zoe")), "account", "t2").status_code == 201


def test_every_reason_has_a_severity_and_the_worst_come_first():
    assert set(REPORT_SEVERITY) == set(ReportReason.values)
    ranked = sorted(REPORT_SEVERITY, key=REPORT_SEVERITY.__getitem__, reverse=True)
    assert ranked[:2] == ["minor_safety", "non_consensual_likeness"]
