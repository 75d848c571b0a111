"""A moderator claims a case: a lock with an expiry, released by its holder, taken over once expired."""

from datetime import timedelta

import pytest
from django.utils import timezone

from moderation.models import Case
from moderation.services import flag_target
from tests.factories import GenerationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(user):
    return flag_target(target=GenerationFactory(requester=user), source="output_check", reason="x").case


def _claim(client, case):
    return client.post(f"/api/v1/moderation/cases/{case.pk}/claim/")


def _release(client, case):
    return client.delete(f"/api/v1/moderation/cases/{case.pk}/claim/")


def test_a_claim_locks_the_case_against_a_second_moderator(client_for, case, moderator, second_moderator):
    claimed = _claim(client_for(moderator), case)

    assert claimed.status_code == 200
    assert (claimed.json()["status"], claimed.json()["claimed_by"]) == ("claimed", "mod")
    refused = _claim(client_for(second_moderator), case)
    assert (refused.status_code, refused.json()["code"]) == (409, "case_claimed")
    assert Case.objects.get(pk=case.pk).claimed_by == moderator


def test_claiming_again_renews_the_claim(client_for, case, moderator):
    first = _claim(client_for(moderator), case).json()["claim_expires_at"]
    Case.objects.filter(pk=case.pk).update(claim_expires_at=timezone.now() + timedelta(minutes=1))

    again = _claim(client_for(moderator), case).json()["claim_expires_at"]

    assert again >= first


def test_a_released_claim_frees_the_case(client_for, case, moderator, second_moderator):
    _claim(client_for(moderator), case)

    assert _release(client_for(second_moderator), case).json()["code"] == "case_not_claimed_by_you"
    released = _release(client_for(moderator), case)
    assert (released.status_code, released.json()["status"], released.json()["claimed_by"]) == (
        200,
        "open",
        None,
    )
    assert _claim(client_for(second_moderator), case).status_code == 200


def test_an_expired_claim_reads_open_and_can_be_taken_over(client_for, case, moderator, second_moderator):
    _claim(client_for(moderator), case)
    Case.objects.filter(pk=case.pk).update(claim_expires_at=timezone.now() - timedelta(seconds=1))

    seen = client_for(second_moderator).get(f"/api/v1/moderation/cases/{case.pk}/").json()
    taken = _claim(client_for(second_moderator), case)

    assert (seen["status"], seen["claimed_by"]) == ("open", None)
    assert (taken.status_code, taken.json()["claimed_by"]) == (200, "mod2")


def test_a_resolved_case_cannot_be_claimed(client_for, case, moderator):
    Case.objects.filter(pk=case.pk).update(status="resolved")

    assert _claim(client_for(moderator), case).json()["code"] == "case_resolved"
