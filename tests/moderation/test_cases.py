"""Reports and flags on one target join its open case, shown with its whole history in one view."""

import pytest
from django.utils import timezone

from moderation.models import Case, CaseStatus
from moderation.services import flag_target
from tests.factories import CameoFactory, GenerationFactory

pytestmark = pytest.mark.django_db


def _case_url(case):
    return f"/api/v1/moderation/cases/{case.pk}/"


def test_a_report_and_an_automatic_flag_on_one_video_share_one_case(client_for, user, other_user, moderator):
    video = GenerationFactory(requester=user, published_at=timezone.now())
    flag_target(
        target=video, source="output_check", reason="policy_blocked_category", evidence={"score": 0.91}
    )
    client_for(other_user).post(
        "/api/v1/reports/",
        {"target_type": "video", "target_id": str(video.pk), "reason": "violence", "text": "gore at 0:03"},
    )

    case = Case.objects.get()
    body = client_for(moderator).get(_case_url(case)).json()

    assert (body["target_type"], body["target_id"], body["subject"]) == ("video", str(video.pk), "maya")
    assert (body["priority"], body["report_count"]) == (60, 1)
    assert [(r["reporter"], r["reason"], r["text"]) for r in body["reports"]] == [
        ("leo", "violence", "gore at 0:03")
    ]
    assert [(f["source"], f["evidence"]) for f in body["flags"]] == [
        ("output_check", {"score": 0.91}),
        ("report", {"report_id": body["reports"][0]["id"]}),
    ]


def test_the_history_shows_earlier_cases_on_the_target_and_on_the_user(client_for, user, moderator):
    video = GenerationFactory(requester=user)
    earlier = flag_target(target=video, source="output_check", reason="x").case
    Case.objects.filter(pk=earlier.pk).update(status=CaseStatus.RESOLVED, resolved_at=timezone.now())
    on_cameo = flag_target(target=CameoFactory(owner=user), source="likeness_match", reason="y").case
    unrelated = flag_target(target=GenerationFactory(), source="output_check", reason="z").case
    current = flag_target(target=video, source="output_check", reason="x").case

    body = client_for(moderator).get(_case_url(current)).json()

    assert current.pk != earlier.pk
    assert [c["id"] for c in body["earlier_cases_on_target"]] == [earlier.pk]
    assert [c["status"] for c in body["earlier_cases_on_target"]] == ["resolved"]
    assert [c["id"] for c in body["earlier_cases_on_subject"]] == [on_cameo.pk, earlier.pk]
    assert unrelated.pk not in {c["id"] for c in body["earlier_cases_on_subject"]}


def test_an_account_case_names_the_account_by_username(client_for, user, other_user, moderator):
    client_for(other_user).post(
        "/api/v1/reports/", {"target_type": "account", "target_id": "maya", "reason": "impersonation"}
    )

    body = client_for(moderator).get(_case_url(Case.objects.get())).json()

    assert (body["target_type"], body["target_id"], body["subject"]) == ("account", "maya", "maya")
