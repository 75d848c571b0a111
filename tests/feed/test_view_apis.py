"""View events in batches: one view per viewer and post, watch time adds up, never the author's, only
posts one may see, bounded per request; owner / other / anonymous."""

import pytest
from django.utils import timezone

from accounts.models import Block
from feed.models import MAX_VIEW_EVENTS, MAX_WATCH_MS, Post, PostView
from tests.factories import GenerationFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/posts/views/"


def report(client, *events):
    body = {"events": [{"post_id": post_id, "watch_ms": ms} for post_id, ms in events]}
    return client.post(URL, body, format="json")


def counters(post) -> tuple[int, int]:
    row = Post.objects.get(pk=post.pk)
    return row.view_count, row.watch_ms


def test_views_are_counted_once_per_viewer_and_watch_time_adds_up(client_for, leo, maya, stranger):
    post = GenerationFactory(requester=leo, published_at=timezone.now())
    assert report(client_for(stranger), (post.pk, 1000), (post.pk, 500)).json() == {"counted": 1}
    assert report(client_for(stranger), (post.pk, 2000)).json() == {"counted": 1}
    assert report(client_for(maya), (post.pk, 100)).json() == {"counted": 1}

    assert counters(post) == (2, 3600)
    assert PostView.objects.get(post_id=post.pk, viewer=stranger).watch_ms == 3500
    assert client_for(maya).get(f"/api/v1/posts/{post.pk}/").json()["view_count"] == 2


def test_the_authors_own_views_and_posts_one_may_not_see_are_not_counted(client_for, leo, stranger, person):
    post = GenerationFactory(requester=leo, published_at=timezone.now())
    private = GenerationFactory(requester=leo, published_at=timezone.now(), post__visibility="private")
    draft = GenerationFactory(requester=leo)
    blocked = person("blocked")
    Block.objects.create(blocker=leo, blocked=blocked)

    assert report(client_for(leo), (post.pk, 1000)).json() == {"counted": 0}
    assert report(client_for(stranger), (private.pk, 1000), (draft.pk, 1), (10**18, 5)).json() == {
        "counted": 0
    }
    assert report(client_for(blocked), (post.pk, 1000)).json() == {"counted": 0}
    assert counters(post) == counters(private) == (0, 0)
    assert not PostView.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"events": []},
        {"events": [{"post_id": 1, "watch_ms": 1}] * (MAX_VIEW_EVENTS + 1)},
        {"events": [{"post_id": 1, "watch_ms": MAX_WATCH_MS + 1}]},
        {"events": [{"post_id": 1, "watch_ms": -1}]},
        {"events": [{"post_id": 0, "watch_ms": 1}]},
        {"events": [{"post_id": "1", "watch_ms": 1}]},
        {"events": [{"post_id": 1, "watch_ms": 1, "liked": True}]},
        {"events": [{"post_id": 2**63, "watch_ms": 1}]},
    ],
)
def test_a_bad_batch_is_refused_whole(client_for, stranger, body):
    response = client_for(stranger).post(URL, body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")


def test_anonymous_views_are_not_taken(api_client, leo):
    post = GenerationFactory(requester=leo, published_at=timezone.now())
    assert report(api_client, (post.pk, 1000)).status_code == 401
    assert counters(post) == (0, 0)
