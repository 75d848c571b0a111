"""A post's `remix_of` names its source only to a viewer who may see that source: every other viewer reads
null, on every endpoint that shows a post, so a private, blocked, taken-down or unpublished source cannot be
probed through the remixes of it (its id alone would say it exists, and who made the remix of what)."""

from datetime import date

import pytest
from django.utils import timezone

from accounts.models import Follow, User
from feed.models import Post
from tests.factories import CameoFactory, GenerationFactory
from tests.feed.hiding import HIDDEN_KINDS, hide_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def remix_world(leo, maya, stranger):
    """Maya's public video, Leo's public remix of it featuring Maya's cameo; the stranger follows Leo."""
    cameo = CameoFactory(owner=leo, permission="everyone")
    source = GenerationFactory(requester=maya, published_at=timezone.now())
    remix = GenerationFactory(requester=leo, remix_of=source, cameos=[cameo], published_at=timezone.now())
    Follow.objects.create(follower=stranger, followee=leo)
    return {"source": source, "remix": remix, "cameo": cameo}


def endpoints(world) -> dict[str, str]:
    remix = world["remix"]
    return {
        "post": f"/api/v1/posts/{remix.pk}/",
        "feed": "/api/v1/feed/",
        "following": "/api/v1/feed/following/",
        "for_you": "/api/v1/feed/for-you/",
        "profile": "/api/v1/users/leo/posts/",
        "cameo": f"/api/v1/cameos/{world['cameo'].pk}/posts/",
        "remix_tree": f"/api/v1/posts/{remix.pk}/remix-tree/",
    }


def remix_as_shown(client, url: str, remix_id: int) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.json()
    body = response.json()
    posts = [node["post"] for node in body["nodes"]] if "nodes" in body else body.get("results", [body])
    [shown] = [post for post in posts if post["id"] == remix_id]
    return shown


@pytest.mark.parametrize(
    "endpoint", ["post", "feed", "following", "for_you", "profile", "cameo", "remix_tree"]
)
def test_a_remix_names_a_source_the_viewer_may_see(client_for, stranger, remix_world, endpoint):
    url = endpoints(remix_world)[endpoint]

    shown = remix_as_shown(client_for(stranger), url, remix_world["remix"].pk)

    assert shown["remix_of"] == remix_world["source"].pk


@pytest.mark.parametrize(
    "endpoint", ["post", "feed", "following", "for_you", "profile", "cameo", "remix_tree"]
)
def test_a_remix_of_a_private_source_names_none_on_every_endpoint(
    client_for, stranger, remix_world, endpoint
):
    hide_post("private", remix_world["source"], stranger)
    url = endpoints(remix_world)[endpoint]

    shown = remix_as_shown(client_for(stranger), url, remix_world["remix"].pk)

    assert shown["remix_of"] is None


@pytest.mark.parametrize("kind", HIDDEN_KINDS)
def test_every_way_a_source_is_hidden_leaves_remix_of_null(client_for, stranger, remix_world, kind):
    if kind == "adults_only":  # hidden from a minor
        User.objects.filter(pk=stranger.pk).update(birth_date=date(timezone.now().year - 15, 1, 1))
        stranger.refresh_from_db()
    hide_post(kind, remix_world["source"], stranger)
    remix = remix_world["remix"]

    for url in (f"/api/v1/posts/{remix.pk}/", "/api/v1/feed/following/"):
        assert remix_as_shown(client_for(stranger), url, remix.pk)["remix_of"] is None, url


def test_the_source_s_author_and_its_audience_still_read_it(client_for, leo, maya, stranger, remix_world):
    """Followers-only: Leo, who follows Maya, reads the link; the stranger, who does not, reads null."""
    Post.objects.filter(generation=remix_world["source"]).update(visibility="followers")
    Follow.objects.create(follower=leo, followee=maya)
    remix = remix_world["remix"]
    url = f"/api/v1/posts/{remix.pk}/"

    assert remix_as_shown(client_for(leo), url, remix.pk)["remix_of"] == remix_world["source"].pk
    assert remix_as_shown(client_for(maya), url, remix.pk)["remix_of"] == remix_world["source"].pk
    assert remix_as_shown(client_for(stranger), url, remix.pk)["remix_of"] is None


def test_a_source_on_the_same_page_is_known_visible(client_for, stranger, remix_world):
    """Both on the page: no question asked of the rule about the source (and it is named)."""
    Follow.objects.create(follower=stranger, followee=remix_world["source"].requester)

    response = client_for(stranger).get("/api/v1/feed/following/")

    by_id = {post["id"]: post for post in response.json()["results"]}
    assert by_id[remix_world["remix"].pk]["remix_of"] == remix_world["source"].pk
