"""Names are found case-insensitively through the indexes that keep them unique (on LOWER(column)): a
profile, a sign-in, a sign-up's check and a mention each read one index entry, not the whole users table.

Today's defect this holds off: Django's `__iexact` compiles to UPPER(column) on PostgreSQL, which no index
serves, so each of those lookups was a sequential scan of the users table (2-23 ms at 50k users)."""

from collections.abc import Callable

import pytest
from django.contrib.auth import authenticate
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Handle, User
from accounts.selectors import user_get_by_username
from accounts.services import handle_is_taken
from cameos.selectors import cameo_get_by_mention
from tests.factories import CameoFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_names_are_found_whatever_their_case():
    maya = UserFactory(username="Maya", email="Maya@Example.com")
    Handle.objects.create(name="Rex")

    assert user_get_by_username(username="mAYA") == maya
    assert User.objects.get_by_natural_key("MAYA") == maya
    assert handle_is_taken(name="rex") and handle_is_taken(name="REX")
    assert not handle_is_taken(name="rexy")


def test_a_sign_in_takes_the_username_in_any_case():
    UserFactory(username="leo", password="a long enough password")

    assert authenticate(username="LEO", password="a long enough password").username == "leo"


def test_a_mention_finds_the_cameo_whatever_its_case(make_user):
    user = make_user(username="viewer")
    cameo = CameoFactory(owner=UserFactory(username="Maya"), permission="everyone")

    assert cameo_get_by_mention(user=user, mention="@MAYA") == cameo


def _plan_without_sequential_scans(run: Callable[[], object]) -> str:
    """The plans of the queries `run` makes, as PostgreSQL would run them with sequential scans off: a
    lookup that no index serves still shows `Seq Scan` (at a prohibitive cost)."""
    with CaptureQueriesContext(connection) as queries:
        run()
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in queries.captured_queries:
            cursor.execute("EXPLAIN " + query["sql"])
            plans.append("\n".join(line for (line,) in cursor.fetchall()))
    return "\n\n".join(plans)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plan is PostgreSQL's")
@pytest.mark.parametrize(
    "lookup",
    [
        lambda: user_get_by_username(username="MAYA"),
        lambda: User.objects.get_by_natural_key("maya"),
        lambda: handle_is_taken(name="MAYA"),
    ],
    ids=["profile", "sign_in", "handle_taken"],
)
def test_postgresql_reads_a_name_from_its_index(lookup):
    UserFactory(username="maya")
    Handle.objects.create(name="maya")

    plan = _plan_without_sequential_scans(lookup)

    assert "Seq Scan" not in plan, plan
    assert "_ci_unique" in plan, plan
