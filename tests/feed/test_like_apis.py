"""Likes: idempotent, counted without a race, only on posts one may see; owner / other / anonymous."""

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Block
from feed.models import Like, Post
from feed.services import post_like, post_unlike
from tests.factories import GenerationFactory, UserFactory
from tests.threads import run_together


@pytest.fixture
def post(leo, mayas_cameo):
    return GenerationFactory(requester=leo, cameos=[mayas_cameo], published_at=timezone.now())


def like_url(post) -> str:
    return f"/api/v1/posts/{post.pk}/like/"


@pytest.mark.django_db
def test_liking_is_idempotent_and_counted(client_for, leo, stranger, post):
    client = client_for(stranger)
    assert client.post(like_url(post)).json() == {"liked": True, "like_count": 1}
    assert client.post(like_url(post)).json() == {"liked": True, "like_count": 1}
    assert client_for(leo).post(like_url(post)).json() == {"liked": True, "like_count": 2}  # one's own too
    assert client.get("/api/v1/feed/").json()["results"][0]["like_count"] == 2
    assert client.delete(like_url(post)).json() == {"liked": False, "like_count": 1}
    assert client.delete(like_url(post)).json() == {"liked": False, "like_count": 1}
    assert Like.objects.filter(post_id=post.pk).count() == Post.objects.get(pk=post.pk).like_count == 1


@pytest.mark.django_db
def test_only_a_post_one_may_see_can_be_liked(client_for, api_client, maya, stranger, post, person):
    blocked = person("blocked")
    Block.objects.create(blocker=maya, blocked=blocked)  # maya's cameo is in the post
    Post.objects.filter(pk=post.pk).update(visibility="private")
    for user in (stranger, blocked):
        response = client_for(user).post(like_url(post))
        assert (response.status_code, response.json()["code"]) == (404, "post_not_found")
    Post.objects.filter(pk=post.pk).update(visibility="public")
    assert client_for(blocked).post(like_url(post)).status_code == 404
    assert client_for(blocked).delete(like_url(post)).status_code == 404
    assert api_client.post(like_url(post)).status_code == 401
    assert api_client.delete(like_url(post)).status_code == 401
    assert Post.objects.get(pk=post.pk).like_count == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_likes_and_unlikes_keep_the_counter_right():
    """Real threads, each its own connection, against PostgreSQL (READ COMMITTED): every like and unlike of
    one post at once, each twice; the counter ends equal to the rows."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL); SQLite serialises whole transactions")
    author = UserFactory(username="author", password=None)
    post = GenerationFactory(requester=author, published_at=timezone.now())
    likers = [UserFactory(username=f"liker{n}", password=None) for n in range(12)]
    unlikers = likers[:4]

    def like_twice(user) -> None:
        post_like(user=user, post_id=post.pk)
        post_like(user=user, post_id=post.pk)

    assert run_together([lambda user=user: like_twice(user) for user in likers * 2]) == []
    assert Post.objects.get(pk=post.pk).like_count == Like.objects.filter(post_id=post.pk).count() == 12

    errors = run_together(
        [lambda user=user: post_unlike(user=user, post_id=post.pk) for user in unlikers * 3]
    )
    assert errors == []
    assert Post.objects.get(pk=post.pk).like_count == Like.objects.filter(post_id=post.pk).count() == 8
