"""Who may see a video (`generations_visible_to`, the one rule every list and read uses): a block either way
with any cameo owner in a video hides it from the blocked person everywhere, not only the blocker's posts.

Today a person blocked by (or blocking) a cameo owner still sees videos featuring that owner's cameo in the
feed and in video detail, and can remix them."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Block
from generation.models import GenerationStatus
from generation.selectors import generations_visible_to, published_generations_visible_to
from tests.factories import CameoFactory, GenerationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def maya(make_user):
    return make_user(username="maya")


@pytest.fixture
def zoe(make_user):
    return make_user(username="zoe")


@pytest.fixture
def leo(make_user):
    return make_user(username="leo")


@pytest.fixture
def viewer(make_user):
    return make_user(username="viewer")


@pytest.fixture
def video(maya, zoe, leo):
    """Leo's published video with maya's and zoe's cameos."""
    cameos = [CameoFactory(owner=maya, permission="everyone"), CameoFactory(owner=zoe, permission="everyone")]
    return GenerationFactory(requester=leo, cameos=cameos, published_at=timezone.now())


def block(direction, owner, viewer):
    if direction == "owner_blocks":
        Block.objects.create(blocker=owner, blocked=viewer)
    else:
        Block.objects.create(blocker=viewer, blocked=owner)


BLOCKS = pytest.mark.parametrize("direction", ["owner_blocks", "viewer_blocks"])
OWNERS = pytest.mark.parametrize("owner_name", ["maya", "zoe"])  # every cameo owner, not only the first


@BLOCKS
@OWNERS
def test_a_block_with_a_cameo_owner_hides_the_video_from_the_feed(
    client_for, request, video, viewer, direction, owner_name
):
    assert [item["id"] for item in client_for(viewer).get("/api/v1/feed/").json()["results"]] == [video.pk]
    block(direction, request.getfixturevalue(owner_name), viewer)

    assert client_for(viewer).get("/api/v1/feed/").json()["results"] == []


@BLOCKS
@OWNERS
def test_a_block_with_a_cameo_owner_hides_the_video_detail(
    client_for, request, video, viewer, direction, owner_name
):
    block(direction, request.getfixturevalue(owner_name), viewer)

    response = client_for(viewer).get(f"/api/v1/generations/{video.pk}/")
    assert response.status_code == 404
    assert response.json()["code"] == "generation_not_found"  # the same answer as for a draft


@BLOCKS
def test_a_block_with_a_cameo_owner_refuses_a_remix(client_for, zoe, video, viewer, direction):
    block(direction, zoe, viewer)

    response = client_for(viewer).post(
        "/api/v1/generations/", {"prompt": "a cat juggles", "remix_of": video.pk}
    )
    assert response.status_code == 404
    assert response.json()["code"] == "remix_source_not_found"


def test_others_still_see_it(client_for, video, viewer, make_user):
    Block.objects.create(blocker=video.requester, blocked=make_user(username="someone"))

    assert client_for(viewer).get(f"/api/v1/posts/{video.pk}/").status_code == 200


def test_a_viewer_of_a_published_video_never_learns_how_it_was_made(client_for, video, viewer):
    """Regression (issue 12): the generation detail handed anyone who could see a published video its
    prompt, parsed spec and job internals. A viewer gets the post; the generation is its makers' only."""
    response = client_for(viewer).get(f"/api/v1/generations/{video.pk}/")
    assert (response.status_code, response.json()["code"]) == (404, "generation_not_found")

    post = client_for(viewer).get(f"/api/v1/posts/{video.pk}/").json()
    assert not {"prompt", "spec", "stage", "progress", "failure_reason", "engine"} & set(post)
    assert video.prompt not in str(post)


def test_the_requester_and_the_owners_keep_seeing_it(client_for, video, leo, maya, zoe, viewer):
    Block.objects.create(blocker=maya, blocked=viewer)
    for person in (leo, maya, zoe):
        assert client_for(person).get(f"/api/v1/generations/{video.pk}/").status_code == 200


def test_an_owner_blocked_with_another_owner_sees_the_row_but_not_their_face(client_for, video, maya, zoe):
    """Maya's record of her appearance stays listed, but zoe's likeness in it is hidden from her."""
    Block.objects.create(blocker=zoe, blocked=maya)
    assert client_for(maya).get(f"/api/v1/generations/{video.pk}/").status_code == 404
    cameo_id = video.cameo_uses.get(owner=maya).cameo_id
    listed = client_for(maya).get(f"/api/v1/cameos/{cameo_id}/appearances/").json()["results"]
    assert [item["id"] for item in listed] == [video.pk]


def test_anonymous_sees_only_published_videos_that_are_up(video, leo):
    GenerationFactory(requester=leo)  # a draft
    GenerationFactory(requester=leo, published_at=timezone.now(), removed_at=timezone.now())
    GenerationFactory(requester=leo, published_at=timezone.now(), deleted_at=timezone.now())
    GenerationFactory(requester=leo, published_at=timezone.now(), status=GenerationStatus.NEEDS_REVIEW)

    assert list(generations_visible_to(AnonymousUser())) == [video]
    assert list(generations_visible_to(None)) == [video]


def test_a_draft_is_seen_by_its_requester_and_its_cameo_owners_only(leo, maya, viewer):
    cameo = CameoFactory(owner=maya, permission="everyone")
    draft = GenerationFactory(requester=leo, cameos=[cameo])

    assert draft in generations_visible_to(leo)
    assert draft in generations_visible_to(maya)
    assert draft not in generations_visible_to(viewer)
    assert draft not in published_generations_visible_to(leo)


def _feed_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/feed/").status_code == 200
    return len(queries)


def test_the_feed_costs_the_same_queries_whatever_its_size(client_for, viewer, maya, zoe, leo, make_user):
    """Blocks are subqueries of the one list query, and a withdrawn consent is already on the row."""
    client = client_for(viewer)
    Block.objects.create(blocker=make_user(username="blocker"), blocked=viewer)
    cameos = [CameoFactory(owner=maya, permission="everyone"), CameoFactory(owner=zoe, permission="everyone")]
    GenerationFactory(requester=leo, cameos=cameos, published_at=timezone.now())
    one = _feed_queries(client)
    for _ in range(9):
        GenerationFactory(requester=make_user(), cameos=cameos, published_at=timezone.now())

    assert _feed_queries(client) == one
