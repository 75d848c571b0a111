"""For You through its API: ranking properties (follows, diversity, seen posts, "see less"), the ranked
snapshot's cursor while posts arrive, steering and see-less endpoints; owner / other / anonymous."""

from collections import Counter
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Block, Follow
from feed.models import FeedSteering, PostView, SeeLess
from feed.ranking import snapshot
from feed.ranking.selectors import POPULAR_CACHE_KEY
from tests.factories import GenerationFactory

pytestmark = pytest.mark.django_db

FOR_YOU = "/api/v1/feed/for-you/"
STEERING = "/api/v1/feed/steering/"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


def all_pages(client, url: str) -> list[int]:
    seen = []
    while url:
        response = client.get(url)
        seen += ids(response)
        url = response.json()["next"]
    return seen


def post(author, *, hours_ago: float = 0, **post_fields):
    fields = {f"post__{name}": value for name, value in post_fields.items()}
    return GenerationFactory(
        requester=author, published_at=timezone.now() - timedelta(hours=hours_ago), **fields
    )


def test_a_followed_authors_fresh_post_outranks_a_strangers_stale_one(client_for, leo, stranger, person):
    viewer = person("viewer")
    Follow.objects.create(follower=viewer, followee=leo)
    stale = post(stranger, hours_ago=72, like_count=40, comment_count=5)
    fresh = post(leo, hours_ago=1)

    assert ids(client_for(viewer).get(FOR_YOU)) == [fresh.pk, stale.pk]


def test_no_author_more_than_twice_on_a_page_of_twenty(client_for, leo, person):
    viewer = person("viewer")
    Follow.objects.create(follower=viewer, followee=leo)
    flood = [post(leo, hours_ago=n / 10) for n in range(10)]  # the freshest, and followed
    others = [post(person(f"author{n}"), hours_ago=5 + n) for n in range(25)]

    page = client_for(viewer).get(FOR_YOU).json()["results"]

    assert len(page) == 20
    assert max(Counter(item["author"] for item in page).values()) == 2
    assert [item["id"] for item in page[:2]] == [flood[0].pk, flood[1].pk]
    everything = all_pages(client_for(viewer), FOR_YOU)
    for start in range(len(everything)):
        window = [item for item in everything[start : start + 20] if item in {p.pk for p in flood}]
        assert len(window) <= 2
    assert {p.pk for p in others} <= set(everything)


def test_posts_already_watched_and_ones_own_are_left_out(client_for, leo, stranger):
    watched, unwatched = post(leo), post(leo)
    PostView.objects.create(post=watched.post, viewer=stranger, watch_ms=4000)
    own = post(stranger)

    assert ids(client_for(stranger).get(FOR_YOU)) == [unwatched.pk]
    assert own.pk in ids(client_for(leo).get(FOR_YOU))


def test_see_less_lowers_the_author_and_the_topic(client_for, leo, maya, stranger, person):
    viewer = person("viewer")
    marked = post(leo, hours_ago=0.1, caption="#football final", hashtags=["football"])
    same_author = post(leo, hours_ago=0.2, caption="#baking bread", hashtags=["baking"])
    same_topic = post(maya, hours_ago=0.3, caption="#football training", hashtags=["football"])
    unrelated = post(stranger, hours_ago=1, caption="#jazz", hashtags=["jazz"])
    client = client_for(viewer)
    before = ids(client.get(FOR_YOU))
    assert before == [marked.pk, same_author.pk, same_topic.pk, unrelated.pk]

    response = client.post(f"/api/v1/posts/{marked.pk}/see-less/")

    assert response.status_code == 204
    assert ids(client.get(FOR_YOU)) == [unrelated.pk, same_topic.pk, same_author.pk]
    assert client.post(f"/api/v1/posts/{marked.pk}/see-less/").status_code == 204  # idempotent
    assert SeeLess.objects.filter(user=viewer).count() == 1


def test_see_less_needs_a_post_one_may_see(client_for, api_client, leo, stranger):
    private = post(leo, visibility="private")
    response = client_for(stranger).post(f"/api/v1/posts/{private.pk}/see-less/")
    assert (response.status_code, response.json()["code"]) == (404, "post_not_found")
    assert client_for(leo).post(f"/api/v1/posts/{private.pk}/see-less/").status_code == 204  # the owner
    assert api_client.post(f"/api/v1/posts/{private.pk}/see-less/").status_code == 401


def test_the_cursor_pages_through_one_ranking_while_posts_arrive(client_for, person):
    """Pages of 3 over 11 posts by 11 authors; between pages, new posts arrive and old ones get likes.
    The pages are the first page's ranking, each post once, none missing."""
    viewer = person("viewer")
    existing = [post(person(f"author{n}"), hours_ago=n) for n in range(11)]
    client = client_for(viewer)
    first = client.get(f"{FOR_YOU}?page_size=3")
    seen, url, late = ids(first), first.json()["next"], []
    while url:
        late.append(post(person(f"late{len(seen)}")))  # would rank high in a new ranking
        existing[-1].post.like_count += 500
        existing[-1].post.save()
        response = client.get(url)
        seen += ids(response)
        url = response.json()["next"]

    assert sorted(seen) == sorted(p.pk for p in existing)
    assert seen == [p.pk for p in existing]  # freshness alone orders equal posts
    cache.delete(POPULAR_CACHE_KEY)  # the popular list, shared by every viewer, is a minute old at most
    snapshot.ranking_forget(viewer_id=viewer.pk)  # as if it were older than FEED_FOR_YOU_KEEP_S
    fresh = ids(client.get(f"{FOR_YOU}?page_size=100"))  # no cursor: ranked afresh
    assert fresh[0] == existing[-1].pk and set(fresh) == {p.pk for p in existing + late}


def later(monkeypatch, seconds: float) -> None:
    """Move the kept rankings' clock `seconds` on."""
    now = snapshot._clock()
    monkeypatch.setattr(snapshot, "_clock", lambda: now + seconds)


def test_a_first_page_reads_the_kept_ranking_and_a_worker_refreshes_it(
    client_for, person, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """Within FEED_FOR_YOU_REFRESH_S a first page is the kept ranking as it was; after it, the first page is
    still the kept ranking but sends one `feed.rank_for_you` (once per viewer while it runs), whose ranking
    the next first page starts, however long the viewer was away within FEED_FOR_YOU_KEEP_S; after it the
    first page ranks by itself."""
    viewer = person("viewer")
    existing = [post(person(f"author{n}"), hours_ago=n) for n in range(3)]
    client = client_for(viewer)
    assert ids(client.get(FOR_YOU)) == [p.pk for p in existing]
    late = post(person("late"))
    cache.delete(POPULAR_CACHE_KEY)

    with django_capture_on_commit_callbacks() as sent:
        assert ids(client.get(FOR_YOU)) == [p.pk for p in existing]
    assert sent == []

    later(monkeypatch, settings.FEED_FOR_YOU_REFRESH_S + 1)
    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert ids(client.get(FOR_YOU)) == [p.pk for p in existing]  # served while the worker ranks
    assert len(sent) == 1
    assert ids(client.get(FOR_YOU)) == [late.pk] + [p.pk for p in existing]

    newest = post(person("newest"))
    cache.delete(POPULAR_CACHE_KEY)
    later(monkeypatch, settings.FEED_FOR_YOU_REFRESH_S + 2)
    with django_capture_on_commit_callbacks(execute=True) as sent:
        client.get(FOR_YOU)
        client.get(FOR_YOU)
    assert len(sent) == 1  # one refresh in flight per viewer
    kept = [newest.pk, late.pk, *(p.pk for p in existing)]

    back = post(person("back"))
    cache.delete(POPULAR_CACHE_KEY)
    later(monkeypatch, settings.FEED_FOR_YOU_KEEP_S - 3600)  # away for most of a day
    with django_capture_on_commit_callbacks(execute=True) as sent:
        assert ids(client.get(FOR_YOU)) == kept  # the kept ranking, at once
    assert len(sent) == 1
    assert ids(client.get(FOR_YOU)) == [back.pk, *kept]  # the worker's

    away = post(person("away"))
    cache.delete(POPULAR_CACHE_KEY)
    later(monkeypatch, settings.FEED_FOR_YOU_KEEP_S + 60)
    with django_capture_on_commit_callbacks() as sent:
        assert ids(client.get(FOR_YOU))[0] == away.pk  # too old to serve: ranked in the request
    assert sent == []


def test_see_less_and_steering_drop_the_kept_ranking(client_for, leo, person):
    viewer = person("viewer")
    shown = post(leo)
    client = client_for(viewer)
    client.get(FOR_YOU)
    assert snapshot.ranking_current(viewer_id=viewer.pk) is not None

    assert client.post(f"/api/v1/posts/{shown.pk}/see-less/").status_code == 204
    assert snapshot.ranking_current(viewer_id=viewer.pk) is None
    client.get(FOR_YOU)
    assert client.put(STEERING, {"text": "more cats"}, format="json").status_code == 200
    assert snapshot.ranking_current(viewer_id=viewer.pk) is None
    client.get(FOR_YOU)
    assert client.delete(STEERING).status_code == 204
    assert snapshot.ranking_current(viewer_id=viewer.pk) is None


def test_a_cursor_outlives_the_ranking_that_replaced_its_own(client_for, person, settings, monkeypatch):
    viewer = person("viewer")
    existing = [post(person(f"author{n}"), hours_ago=n) for n in range(4)]
    client = client_for(viewer)
    first = client.get(f"{FOR_YOU}?page_size=2")
    later(monkeypatch, settings.FEED_FOR_YOU_KEEP_S + 1)
    post(person("late"))
    client.get(FOR_YOU)  # ranks afresh and keeps the new ranking

    assert ids(first) + ids(client.get(first.json()["next"])) == [p.pk for p in existing]


def test_a_post_hidden_since_the_ranking_leaves_its_page(client_for, leo, maya, stranger):
    first, second = post(leo), post(maya, hours_ago=1)
    client = client_for(stranger)
    response = client.get(f"{FOR_YOU}?page_size=1")
    assert ids(response) == [first.pk]
    Block.objects.create(blocker=maya, blocked=stranger)
    last = client.get(response.json()["next"])
    assert ids(last) == [] and last.json()["next"] is None
    assert second.pk not in ids(client.get(FOR_YOU))


def test_a_cursor_is_the_viewers_own_and_expires(client_for, leo, maya, stranger):
    post(leo), post(leo, hours_ago=1)
    next_url = client_for(stranger).get(f"{FOR_YOU}?page_size=1").json()["next"]

    response = client_for(maya).get(next_url)  # someone else's cursor names no snapshot of theirs
    assert (response.status_code, response.json()["code"]) == (400, "cursor_expired")
    cache.clear()
    response = client_for(stranger).get(next_url)
    assert (response.status_code, response.json()["code"]) == (400, "cursor_expired")


# Garbage; "x|y"; a snapshot id with a negative offset; a short snapshot id.
@pytest.mark.parametrize("cursor", ["nonsense", "eHx5", "MDEyMzQ1Njc4OWFiY2RlZnwteA", "MDEyM3wx"])
def test_a_cursor_we_did_not_hand_out_is_refused(client_for, stranger, cursor):
    response = client_for(stranger).get(f"{FOR_YOU}?cursor={cursor}")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor")


def test_for_you_follows_the_visibility_rule(world, client_for):
    author, cameo, viewers = world
    shown = GenerationFactory(requester=author, cameos=[cameo], published_at=timezone.now())
    for name, viewer in viewers.items():
        if name in ("anonymous", "author"):
            continue
        expected = name in {"follower", "mutual", "stranger", "cameo_owner"}
        assert (ids(client_for(viewer).get(FOR_YOU)) == [shown.pk]) == expected, name


def test_anonymous_gets_no_for_you_and_no_steering(api_client):
    assert api_client.get(FOR_YOU).status_code == 401
    for method in ("get", "put", "delete"):
        assert getattr(api_client, method)(STEERING).status_code == 401


def test_steering_is_set_read_and_cleared_by_its_owner_only(client_for, leo, maya):
    client = client_for(leo)
    assert client.get(STEERING).json() == {"text": "", "more": [], "less": [], "ready": True}

    response = client.put(STEERING, {"text": "more animals, less sports and politics"}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "text": "more animals, less sports and politics",
        "more": ["animals"],
        "less": ["sports", "politics"],
        "ready": False,  # embedded by the feed.embed_steering task after the commit
    }
    assert client.get(STEERING).json()["more"] == ["animals"]
    assert client_for(maya).get(STEERING).json()["text"] == ""  # another person's is not theirs to see
    assert client.delete(STEERING).status_code == 204
    assert client.delete(STEERING).status_code == 204
    assert not FeedSteering.objects.exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": "more"}, "steering_unparsed"),
        ({"text": " , and "}, "steering_unparsed"),
        ({"text": ""}, "validation_error"),
        ({"text": "x" * 201}, "validation_error"),
        ({"text": 3}, "validation_error"),
        ({"text": "cats", "extra": 1}, "validation_error"),
    ],
)
def test_a_bad_steering_text_is_refused(client_for, leo, body, code):
    response = client_for(leo).put(STEERING, body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, code)
