"""The audit log: every moderator action and automatic decision, append-only in the ORM and in PostgreSQL,
filterable, exportable as JSON Lines, readable by the admin role only."""

import json

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from moderation.models import AuditEntry, AuditLogIsAppendOnly
from moderation.services import flag_target
from tests.factories import GenerationFactory, UserFactory, with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db):
    return with_role(UserFactory(username="boss"), "admin")


@pytest.fixture
def decided(client_for, user, moderator):
    """A blocked video flagged automatically, claimed, released, claimed again and dismissed."""
    case = flag_target(
        target=GenerationFactory(requester=user), source="output_check", reason="gore", priority=30
    ).case
    client = client_for(moderator)
    client.post(f"/api/v1/moderation/cases/{case.pk}/claim/")
    client.delete(f"/api/v1/moderation/cases/{case.pk}/claim/")
    client.post(f"/api/v1/moderation/cases/{case.pk}/claim/")
    client.post(
        f"/api/v1/moderation/cases/{case.pk}/decision/",
        {"action": "warn", "rule": "violence", "reason": "Blurred gore", "strike": True},
    )
    return case


def test_every_action_is_recorded_with_who_what_and_why(decided, moderator):
    entries = list(AuditEntry.objects.order_by("id"))

    assert [(e.actor_username, e.action) for e in entries] == [
        ("", "flag.raised"),
        ("mod", "case.claimed"),
        ("mod", "case.released"),
        ("mod", "case.claimed"),
        ("mod", "case.decided"),
    ]
    decision = entries[-1]
    assert (decision.case_id, decision.target_type, decision.reason) == (decided.pk, "video", "Blurred gore")
    assert decision.details["action"] == "warn" and decision.details["strike"] is True
    assert entries[0].details["source"] == "output_check"


def test_granting_a_role_is_recorded():
    UserFactory(username="mia")

    call_command("moderation_role", "grant", "mia", "moderator")

    entry = AuditEntry.objects.get()
    assert (entry.actor_id, entry.action, entry.details) == (
        None,
        "role.granted",
        {"user": "mia", "role": "moderator"},
    )


def test_the_orm_refuses_to_change_or_delete_an_entry(decided):
    entry = AuditEntry.objects.first()
    entry.reason = "rewritten"

    with pytest.raises(AuditLogIsAppendOnly):
        entry.save()
    with pytest.raises(AuditLogIsAppendOnly):
        entry.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(reason="rewritten")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).reason == "gore"


@pytest.mark.parametrize(
    "sql", ["UPDATE moderation_auditentry SET reason = 'rewritten'", "DELETE FROM moderation_auditentry"]
)
def test_postgresql_refuses_to_change_or_delete_an_entry(decided, sql):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's (migration 0006)")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditEntry.objects.filter(reason="gore").exists()
    assert AuditEntry.objects.count() == 5


def test_the_log_filters_by_actor_action_and_case(client_for, decided, admin):
    client = client_for(admin)

    def actions(query):
        return [e["action"] for e in client.get("/api/v1/moderation/audit/" + query).json()["results"]]

    assert actions("?actor=automatic") == ["flag.raised"]
    assert actions("?actor=MOD&action=case.claimed") == ["case.claimed", "case.claimed"]
    assert len(actions(f"?case={decided.pk}")) == 5
    assert actions("?case=999999") == []
    assert (
        client.get("/api/v1/moderation/audit/?action=case.deleted").json()["code"] == "invalid_queue_filter"
    )
    assert client.get("/api/v1/moderation/audit/?case=x").status_code == 400


def test_the_log_exports_as_json_lines(client_for, decided, admin):
    response = client_for(admin).get("/api/v1/moderation/audit/export/?actor=mod")

    assert response["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [line["action"] for line in lines] == [
        "case.claimed",
        "case.released",
        "case.claimed",
        "case.decided",
    ]
    assert lines[-1]["details"]["rule"] == "violence"


def test_a_moderator_without_the_admin_role_cannot_read_the_log(client_for, moderator):
    assert client_for(moderator).get("/api/v1/moderation/audit/").status_code == 403
    assert client_for(moderator).get("/api/v1/moderation/audit/export/").status_code == 403


def test_the_log_exports_as_csv_streamed_and_safe_for_spreadsheets(client_for, decided, admin, moderator):
    import csv
    import io

    client_for(moderator).post(f"/api/v1/moderation/cases/{decided.pk}/notes/", {"text": "fine"})
    flag_target(target=GenerationFactory(), source="output_check", reason="=HYPERLINK(\"http://x\")")

    response = client_for(admin).get("/api/v1/moderation/audit/export/?format=csv")

    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="moderation-audit.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["action"] for row in rows] == [
        "flag.raised",
        "case.claimed",
        "case.released",
        "case.claimed",
        "case.decided",
        "note.added",
        "flag.raised",
    ]
    assert json.loads(rows[4]["details"])["rule"] == "violence"
    assert (rows[4]["actor"], rows[0]["actor"]) == ("mod", "")
    assert rows[-1]["reason"] == "'=HYPERLINK(\"http://x\")"  # never a live formula


def test_an_unknown_export_format_is_refused_in_json(client_for, admin):
    response = client_for(admin).get("/api/v1/moderation/audit/export/?format=xlsx")

    assert (response.status_code, response.json()["code"]) == (400, "invalid_export_format")
