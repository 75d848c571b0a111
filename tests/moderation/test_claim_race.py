"""Two moderators claim the same case (a review, or an appeal waiting as its own item) at the same moment, in
real concurrent transactions: exactly one wins."""

import pytest
from django.db import connection, transaction

from core.exceptions import ApplicationError
from moderation.appeals import appeal_file
from moderation.models import Case
from moderation.services import case_claim, case_decide, flag_target
from tests.factories import GenerationFactory, UserFactory
from tests.threads import run_together


def _appeal_item() -> Case:
    """An appeal waiting in the queue (a case of kind `appeal`): claimed like any case."""
    owner = UserFactory(username="owner", password=None)
    case = flag_target(target=GenerationFactory(requester=owner), source="output_check", reason="x").case
    decider = UserFactory(username="decider", password=None)
    case_claim(moderator=decider, case_id=case.pk)
    decision = case_decide(moderator=decider, case_id=case.pk, action="warn", rule="spam")
    return appeal_file(appellant=owner, decision_id=decision.pk, text="Not me.").case


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["review", "appeal"])
@pytest.mark.parametrize("round_", range(5))
def test_two_moderators_racing_for_one_case_exactly_one_wins(round_, kind):
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL); SQLite serialises whole transactions")
    if kind == "appeal":
        case = _appeal_item()
    else:
        case = flag_target(target=GenerationFactory(), source="output_check", reason="x").case
    moderators = [UserFactory(username=f"mod{i}", password=None) for i in range(2)]
    outcomes: dict[str, str] = {}

    def claim(moderator) -> None:
        try:
            with transaction.atomic():
                case_claim(moderator=moderator, case_id=case.pk)
            outcomes[moderator.username] = "won"
        except ApplicationError as error:
            outcomes[moderator.username] = error.code

    assert run_together([lambda moderator=moderator: claim(moderator) for moderator in moderators]) == []
    assert sorted(outcomes.values()) == ["case_claimed", "won"], outcomes
    winner = next(name for name, outcome in outcomes.items() if outcome == "won")
    assert Case.objects.get(pk=case.pk).claimed_by.username == winner
