"""Posts' cards kept in the cache (`feed.cards`): a feed page shows a post's new counts and caption as soon
as the write commits (views within the card's TTL), hides a post at once however long its card is kept (visibility is never cached), and
signs its media links for each viewer although the card is shared."""

import pytest
from django.utils import timezone

from accounts.models import Block, Follow
from core.signed_media import media_token_read
from feed.cards import post_cards_forget
from tests.factories import GenerationFactory

pytestmark = pytest.mark.django_db

FOLLOWING = "/api/v1/feed/following/"


@pytest.fixture
def shown(leo, maya, stranger):
    """Leo's public post, followed by Maya and the stranger, its card kept by a first page of each."""
    for follower in (maya, stranger):
        Follow.objects.create(follower=follower, followee=leo)
    return GenerationFactory(
        requester=leo, published_at=timezone.now(), video="generations/7/video.mp4", post__caption="first"
    )


def card_of(client, post) -> dict:
    response = client.get(FOLLOWING)
    assert response.status_code == 200, response.json()
    return next(item for item in response.json()["results"] if item["id"] == post.pk)


def test_the_feeds_writes_show_on_the_next_page(client_for, leo, maya, stranger, shown):
    viewer = client_for(maya)
    before = card_of(viewer, shown)
    assert (before["like_count"], before["comment_count"], before["share_count"]) == (0, 0, 0)

    assert client_for(stranger).post(f"/api/v1/posts/{shown.pk}/like/").status_code == 200
    assert card_of(viewer, shown)["like_count"] == 1
    assert (
        viewer.post(f"/api/v1/posts/{shown.pk}/comments/", {"text": "hi"}, format="json").status_code == 201
    )
    assert card_of(viewer, shown)["comment_count"] == 1
    assert client_for(stranger).post(f"/api/v1/posts/{shown.pk}/share/").status_code == 200
    assert card_of(viewer, shown)["share_count"] == 1
    patched = client_for(leo).patch(f"/api/v1/posts/{shown.pk}/", {"caption": "second"}, format="json")
    assert patched.status_code == 200
    assert card_of(viewer, shown)["caption"] == "second"
    assert client_for(stranger).delete(f"/api/v1/posts/{shown.pk}/like/").status_code == 200
    assert card_of(viewer, shown)["like_count"] == 0


def test_views_show_once_the_card_expires(client_for, maya, stranger, shown, settings):
    """A popular post is watched many times a second: views keep its card, and show within the TTL."""
    viewer = client_for(maya)
    card_of(viewer, shown)
    views = {"events": [{"post_id": shown.pk, "watch_ms": 900}]}
    assert client_for(stranger).post("/api/v1/posts/views/", views, format="json").status_code == 200
    assert card_of(viewer, shown)["view_count"] == 0  # kept
    post_cards_forget(post_ids=[shown.pk])  # as the TTL would
    assert card_of(viewer, shown)["view_count"] == 1


def test_a_block_hides_a_post_whose_card_is_kept(client_for, leo, maya, shown):
    viewer = client_for(maya)
    card_of(viewer, shown)
    Block.objects.create(blocker=leo, blocked=maya)
    assert viewer.get(FOLLOWING).json()["results"] == []


def test_one_card_many_viewers_each_their_own_links(client_for, maya, stranger, shown):
    links = {
        name: card_of(client_for(user), shown)["video_url"]
        for name, user in (("maya", maya), ("stranger", stranger))
    }
    grants = {name: media_token_read(url.rsplit("/", 1)[1]) for name, url in links.items()}
    assert grants["maya"].viewer_id == maya.pk and grants["stranger"].viewer_id == stranger.pk
    assert grants["maya"].name == grants["stranger"].name == "generations/7/video.mp4"
