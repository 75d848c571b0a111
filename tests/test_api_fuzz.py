"""Schemathesis over the whole generated schema, in process: for every operation, generated requests
(valid and invalid, as anonymous and as a signed-in user) must never get a 5xx, and every response must
match the schema. It grows with every endpoint added."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from accounts.services import tokens_issue
from sora_social.wsgi import application
from tests.factories import UserFactory

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


@pytest.fixture(autouse=True)
def _keep_the_test_transaction_open():
    """Schemathesis calls the WSGI app directly, so Django's end-of-request handler would close the
    database connection, and with it the test's transaction (Django's own test client unhooks it too)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db):
    user = UserFactory(username="fuzzer")
    UserFactory(username="maya")
    return {"Authorization": f"Bearer {tokens_issue(user=user)['access']}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case, bearer):
    # Every check but "a schema-valid request is accepted": a schema cannot say that a random e-mail
    # token is not a valid token, and the domain's 400 for it is the right answer.
    case.call_and_validate(headers=bearer, excluded_checks=[positive_data_acceptance])
