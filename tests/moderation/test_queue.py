"""The moderators' queue: severity, report count and age decide the order; filters; constant queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from moderation.models import Case, CaseStatus
from moderation.queue import queue_key
from moderation.services import flag_target
from tests.factories import GenerationFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/moderation/cases/"


def _report(client_for, video, reason, reporter=None):
    reporter = reporter or UserFactory()
    response = client_for(reporter).post(
        "/api/v1/reports/", {"target_type": "video", "target_id": str(video.pk), "reason": reason}
    )
    assert response.status_code == 201, response.content
    return Case.objects.get(reports__id=response.json()["id"])


def _published():
    return GenerationFactory(published_at=timezone.now())


def _ids(client, query=""):
    return [c["id"] for c in client.get(URL + query).json()["results"]]


def test_minor_safety_and_non_consensual_likeness_come_first(client_for, moderator):
    spam = _report(client_for, _published(), "spam")
    likeness = _report(client_for, _published(), "non_consensual_likeness")
    minor = _report(client_for, _published(), "minor_safety")
    violence = _report(client_for, _published(), "violence")

    assert _ids(client_for(moderator)) == [minor.pk, likeness.pk, violence.pk, spam.pk]


def test_more_reports_and_more_waiting_move_a_case_up(client_for, moderator):
    newer_piled_on = _published()
    older = _report(client_for, _published(), "harassment")
    piled = _report(client_for, newer_piled_on, "harassment")
    assert _ids(client_for(moderator)) == [older.pk, piled.pk]  # same severity: the older first

    _report(client_for, newer_piled_on, "harassment")

    assert _ids(client_for(moderator)) == [piled.pk, older.pk]


def test_age_outweighs_a_little_severity():
    now = timezone.now()

    spam_waiting_for_days = queue_key(opened_at=now - timedelta(days=3), priority=10, report_count=1)
    fresh_harassment = queue_key(opened_at=now, priority=40, report_count=1)

    assert spam_waiting_for_days < fresh_harassment


def test_filters_by_reason_source_and_status(client_for, moderator, second_moderator):
    reported = _report(client_for, _published(), "spam")
    automatic = flag_target(
        target=GenerationFactory(), source="output_check", reason="policy_blocked_category"
    ).case
    resolved = flag_target(target=GenerationFactory(), source="output_check", reason="x").case
    Case.objects.filter(pk=resolved.pk).update(status=CaseStatus.RESOLVED)
    client = client_for(moderator)

    assert _ids(client, "?reason=spam") == [reported.pk]
    assert _ids(client, "?source=output_check") == [automatic.pk]
    assert _ids(client, "?status=resolved") == [resolved.pk]
    client_for(second_moderator).post(f"{URL}{reported.pk}/claim/")
    assert _ids(client, "?status=claimed") == [reported.pk]
    assert _ids(client, "?status=open") == [automatic.pk]
    assert set(_ids(client)) == {reported.pk, automatic.pk}


@pytest.mark.parametrize("query", ["?status=pending", "?source=gossip"])
def test_a_bad_filter_is_400(client_for, moderator, query):
    response = client_for(moderator).get(URL + query)

    assert (response.status_code, response.json()["code"]) == (400, "invalid_queue_filter")


def test_the_queue_pages_by_cursor_in_a_constant_number_of_queries(client_for, moderator):
    for index in range(7):
        target = UserFactory(username=f"target{index}") if index % 2 else GenerationFactory()
        flag_target(target=target, source="output_check", reason="x", priority=index)
    client = client_for(moderator)

    with CaptureQueriesContext(connection) as small:
        first = client.get(URL + "?page_size=2").json()
    with CaptureQueriesContext(connection) as large:
        client.get(URL + "?page_size=6")
    seen = [c["id"] for c in first["results"]]
    cursor = first["next"]
    while cursor:
        page = client.get(cursor).json()
        seen += [c["id"] for c in page["results"]]
        cursor = page["next"]

    assert len(small) == len(large)
    assert seen == list(Case.objects.order_by("queue_key", "id").values_list("id", flat=True))
    assert len(seen) == 7


def test_reach_moves_a_video_up_among_equals(client_for, moderator):
    from feed.models import Post

    quiet, seen = _published(), _published()
    Post.objects.filter(pk=seen.pk).update(view_count=100_000)
    first = _report(client_for, quiet, "harassment")
    second = _report(client_for, seen, "harassment")

    rows = client_for(moderator).get(URL).json()["results"]

    assert [(r["id"], r["reach"]) for r in rows] == [(second.pk, 100_000), (first.pk, 0)]


def test_reach_counts_by_orders_of_magnitude_and_never_outranks_a_severe_report():
    now = timezone.now()

    viral_spam = queue_key(opened_at=now, priority=10, report_count=1, reach=50_000_000)
    minor_safety = queue_key(opened_at=now, priority=100, report_count=1, reach=0)
    ten = queue_key(opened_at=now, priority=0, report_count=0, reach=9)
    thousand = queue_key(opened_at=now, priority=0, report_count=0, reach=999)

    assert minor_safety < viral_spam
    assert thousand < ten < queue_key(opened_at=now, priority=0, report_count=0)


def test_appeals_share_the_queue_with_their_own_priority_and_filters(client_for, moderator, user):
    from moderation.appeals import appeal_file
    from moderation.services import case_claim, case_decide

    spam = _report(client_for, GenerationFactory(requester=user, published_at=timezone.now()), "spam")
    banned = flag_target(target=user, source="output_check", reason="x").case
    case_claim(moderator=moderator, case_id=banned.pk)
    decision = case_decide(moderator=moderator, case_id=banned.pk, action="ban", rule="spam")
    appeal = appeal_file(appellant=user, decision_id=decision.pk, text="Not me.")
    minor = _report(client_for, _published(), "minor_safety")
    client = client_for(moderator)

    rows = client.get(URL).json()["results"]

    assert [(r["id"], r["kind"]) for r in rows] == [
        (minor.pk, "review"),  # severity 100
        (appeal.case_id, "appeal"),  # a ban's appeal: 80
        (spam.pk, "review"),  # 10
    ]
    assert rows[1]["appeal_id"] == appeal.pk and rows[0]["appeal_id"] is None
    assert _ids(client, "?kind=appeal") == [appeal.case_id]
    assert _ids(client, "?kind=review&target_type=video") == [minor.pk, spam.pk]
    assert _ids(client, "?target_type=account") == [appeal.case_id]


@pytest.mark.parametrize("query", ["?kind=complaint", "?target_type=comment"])
def test_a_bad_kind_or_target_type_is_400(client_for, moderator, query):
    response = client_for(moderator).get(URL + query)

    assert (response.status_code, response.json()["code"]) == (400, "invalid_queue_filter")


def test_a_page_with_appeals_costs_the_same_queries(client_for, moderator):
    from moderation.appeals import appeal_file
    from moderation.services import case_claim, case_decide

    for index in range(6):
        owner = UserFactory(username=f"owner{index}", password=None)
        case = flag_target(target=GenerationFactory(requester=owner), source="output_check", reason="x").case
        if index % 2:
            case_claim(moderator=moderator, case_id=case.pk)
            decision = case_decide(moderator=moderator, case_id=case.pk, action="warn", rule="spam")
            appeal_file(appellant=owner, decision_id=decision.pk, text="x")
    client = client_for(moderator)

    with CaptureQueriesContext(connection) as small:
        client.get(URL + "?page_size=1")
    with CaptureQueriesContext(connection) as large:
        rows = client.get(URL + "?page_size=10").json()["results"]

    assert {r["kind"] for r in rows} == {"review", "appeal"}
    assert len(small) == len(large)


def test_the_default_queue_is_served_by_its_partial_index_on_postgresql(client_for, moderator):
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    from moderation.selectors import cases_for_queue

    queryset = cases_for_queue().filter(queue_key__gte=0).order_by("queue_key", "id")[:20]
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        plan = queryset.explain()
        cursor.execute("RESET enable_seqscan")

    assert "moderation_queue_unresolved" in plan, plan
