import pytest

from tests.factories import UserFactory, with_role


@pytest.fixture
def moderator(db):
    return with_role(UserFactory(username="mod"), "moderator")


@pytest.fixture
def second_moderator(db):
    return with_role(UserFactory(username="mod2"), "moderator")
