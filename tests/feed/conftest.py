import pytest

from tests.factories import CameoFactory, GenerationFactory, UserFactory


@pytest.fixture
def person(db):
    """A user without password hashing (Argon2 is slow, and these tests sign in with tokens)."""

    def build(username: str, **kwargs):
        return UserFactory(username=username, password=None, **kwargs)

    return build


@pytest.fixture
def leo(person):
    return person("leo")


@pytest.fixture
def maya(person):
    return person("maya")


@pytest.fixture
def stranger(person):
    return person("stranger")


@pytest.fixture
def mayas_cameo(maya):
    return CameoFactory(owner=maya, permission="everyone")


@pytest.fixture
def draft(leo, mayas_cameo):
    """Leo's finished video with Maya's cameo in it, not published yet."""
    return GenerationFactory(requester=leo, cameos=[mayas_cameo], prompt="@maya plays chess on the moon")
