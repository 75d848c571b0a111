"""Share links: the absolute URL of a public post's share page, for a post one may see; counted once per
person, without a race; refused `post_not_public` for any other audience; owner / other / anonymous."""

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Block, Follow
from feed.models import Post, PostShare
from feed.services import post_share
from tests.factories import GenerationFactory, UserFactory
from tests.threads import run_together


@pytest.fixture
def post(leo, mayas_cameo):
    return GenerationFactory(requester=leo, cameos=[mayas_cameo], published_at=timezone.now())


def share_url(post) -> str:
    return f"/api/v1/posts/{post.pk}/share/"


@pytest.mark.django_db
def test_the_author_gets_the_absolute_share_page_url(client_for, leo, post):
    response = client_for(leo).post(share_url(post))

    assert response.status_code == 200
    assert response.json() == {"url": f"http://testserver/v/{post.pk}", "share_count": 1}


@pytest.mark.django_db
def test_shares_are_counted_once_per_person(client_for, leo, stranger, post):
    assert client_for(stranger).post(share_url(post)).json()["share_count"] == 1
    assert client_for(stranger).post(share_url(post)).json()["share_count"] == 1
    assert client_for(leo).post(share_url(post)).json()["share_count"] == 2

    feed_item = client_for(stranger).get(f"/api/v1/posts/{post.pk}/").json()
    assert feed_item["share_count"] == 2 == PostShare.objects.filter(post_id=post.pk).count()


@pytest.mark.django_db
def test_the_share_link_follows_media_link_base_url(client_for, stranger, post, settings):
    settings.MEDIA_LINK_BASE_URL = "https://sora.example"

    assert client_for(stranger).post(share_url(post)).json()["url"] == f"https://sora.example/v/{post.pk}"


@pytest.mark.django_db
@pytest.mark.parametrize("visibility", ["followers", "mutuals", "private"])
def test_a_post_that_is_not_public_has_no_share_page(client_for, leo, stranger, post, visibility):
    Post.objects.filter(pk=post.pk).update(visibility=visibility)
    Follow.objects.create(follower=stranger, followee=leo)
    Follow.objects.create(follower=leo, followee=stranger)

    audience = [leo] if visibility == "private" else [leo, stranger]  # the author, and a mutual follower
    for user in audience:
        response = client_for(user).post(share_url(post))
        assert (response.status_code, response.json()["code"]) == (409, "post_not_public")
    assert Post.objects.get(pk=post.pk).share_count == 0


@pytest.mark.django_db
def test_a_post_one_may_not_see_cannot_be_shared(client_for, api_client, maya, person, post):
    blocked = person("blocked")
    Block.objects.create(blocker=maya, blocked=blocked)  # maya's cameo is in the post

    response = client_for(blocked).post(share_url(post))

    assert (response.status_code, response.json()["code"]) == (404, "post_not_found")
    assert api_client.post(share_url(post)).status_code == 401
    assert Post.objects.get(pk=post.pk).share_count == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_shares_keep_the_counter_right():
    """Real threads, each its own connection, against PostgreSQL: twelve people share one post at once,
    each twice; the counter ends equal to the people."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL); SQLite serialises whole transactions")
    author = UserFactory(username="author", password=None)
    post = GenerationFactory(requester=author, published_at=timezone.now())
    sharers = [UserFactory(username=f"sharer{n}", password=None) for n in range(12)]

    errors = run_together([lambda user=user: post_share(user=user, post_id=post.pk) for user in sharers * 2])

    assert errors == []
    assert Post.objects.get(pk=post.pk).share_count == PostShare.objects.filter(post_id=post.pk).count() == 12
