import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.models import Block, Follow, Mute
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


# The kinds of viewer of the `world` fixture, relative to its author and the owner of the cameo in it.
VIEWERS = (
    "author",
    "follower",
    "mutual",
    "stranger",
    "blocked_by_author",
    "blocks_author",
    "muted_author",
    "blocked_by_cameo_owner",
    "blocks_cameo_owner",
    "muted_cameo_owner",
    "cameo_owner",
    "anonymous",
)


@pytest.fixture
def world(person):
    """An author, a cameo of someone else, and one viewer of each kind (everyone but the stranger, the
    cameo owner and anonymous follows the author; the mutual is followed back)."""
    author, owner = person("author"), person("owner")
    viewers = {name: person(name) for name in VIEWERS if name not in ("author", "cameo_owner", "anonymous")}
    viewers |= {"author": author, "cameo_owner": owner, "anonymous": AnonymousUser()}
    # Everyone but the stranger and the cameo owner follows the author, so that only the rule under test
    # can hide the post from them.
    for name, viewer in viewers.items():
        if name not in ("author", "stranger", "cameo_owner", "anonymous"):
            Follow.objects.create(follower=viewer, followee=author)
    Follow.objects.create(follower=author, followee=viewers["mutual"])
    Block.objects.create(blocker=author, blocked=viewers["blocked_by_author"])
    Block.objects.create(blocker=viewers["blocks_author"], blocked=author)
    Mute.objects.create(muter=viewers["muted_author"], muted=author)
    Block.objects.create(blocker=owner, blocked=viewers["blocked_by_cameo_owner"])
    Block.objects.create(blocker=viewers["blocks_cameo_owner"], blocked=owner)
    Mute.objects.create(muter=viewers["muted_cameo_owner"], muted=owner)
    cameo = CameoFactory(owner=owner, permission="everyone")
    return author, cameo, viewers
