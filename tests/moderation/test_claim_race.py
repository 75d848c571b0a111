"""Two moderators claim the same case at the same moment, in real concurrent transactions: exactly one wins."""

import threading

import pytest
from django.db import connection, transaction

from core.exceptions import ApplicationError
from moderation.models import Case
from moderation.services import case_claim, flag_target
from tests.factories import GenerationFactory, UserFactory


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(5))
def test_two_moderators_racing_for_one_case_exactly_one_wins(round_):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL); SQLite serialises whole transactions")
    case = flag_target(target=GenerationFactory(), source="output_check", reason="x").case
    moderators = [UserFactory(username=f"mod{i}", password=None) for i in range(2)]
    start = threading.Barrier(2, timeout=10)
    outcomes: dict[str, str] = {}

    def claim(moderator) -> None:
        try:
            start.wait()
            with transaction.atomic():
                case_claim(moderator=moderator, case_id=case.pk)
            outcomes[moderator.username] = "won"
        except ApplicationError as error:
            outcomes[moderator.username] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(m,)) for m in moderators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert sorted(outcomes.values()) == ["case_claimed", "won"], outcomes
    winner = next(name for name, outcome in outcomes.items() if outcome == "won")
    assert Case.objects.get(pk=case.pk).claimed_by.username == winner
