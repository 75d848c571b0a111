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
    return Case.objects.get(target_id=video.pk)


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
    assert _ids(client, "?status=mine") == []
    assert _ids(client_for(second_moderator), "?status=mine") == [reported.pk]


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
