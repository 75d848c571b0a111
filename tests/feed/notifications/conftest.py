from datetime import date

import pytest
from django.utils import timezone

from tests.factories import GenerationFactory


@pytest.fixture
def pushed(monkeypatch):
    """Every `notification` event pushed, as (user_id, data); pushes run when the test's transaction
    "commits" (django_capture_on_commit_callbacks)."""
    sent = []

    def push(*, user_id, event_type, data):
        sent.append((user_id, data))

    monkeypatch.setattr("feed.notifications.services.push_to_user", push)
    return sent


@pytest.fixture
def teen(person):
    return person("teen", birth_date=date(timezone.now().year - 15, 1, 1))


@pytest.fixture
def post(leo):
    """Leo's published post."""
    return GenerationFactory(requester=leo, published_at=timezone.now())
