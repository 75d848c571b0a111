"""Who sees a post (`feed.selectors.posts_visible_to`): every audience by every kind of viewer, a blocked or
muted cameo owner included; and a page of the feed costs the same queries whatever its size."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Follow
from feed.selectors import following_candidates, posts_visible_to
from tests.factories import CameoFactory, GenerationFactory

pytestmark = pytest.mark.django_db


# Who sees a post of each audience. The cameo owner follows nobody: their appearance is theirs to see in
# their appearances list, not in the feed beyond what the audience allows.
SEES = {
    "public": {"author", "follower", "mutual", "stranger", "cameo_owner", "anonymous"},
    "followers": {"author", "follower", "mutual"},
    "mutuals": {"author", "mutual"},
    "private": {"author"},
}


@pytest.mark.parametrize("visibility", SEES)
def test_who_sees_a_post(world, visibility):
    author, cameo, viewers = world
    post = GenerationFactory(
        requester=author, cameos=[cameo], published_at=timezone.now(), post__visibility=visibility
    )

    seeing = {
        name for name, viewer in viewers.items() if posts_visible_to(viewer).filter(pk=post.pk).exists()
    }

    assert seeing == SEES[visibility]


@pytest.mark.parametrize("visibility", SEES)
def test_the_feed_api_shows_the_same(world, visibility, client_for):
    author, cameo, viewers = world
    post = GenerationFactory(
        requester=author, cameos=[cameo], published_at=timezone.now(), post__visibility=visibility
    )
    for name, viewer in viewers.items():
        if name == "anonymous":
            continue
        ids = [item["id"] for item in client_for(viewer).get("/api/v1/feed/").json()["results"]]
        detail = client_for(viewer).get(f"/api/v1/posts/{post.pk}/").status_code
        expected = name in SEES[visibility]
        assert (ids == [post.pk], detail) == (expected, 200 if expected else 404), name


def test_a_removed_tag_hides_the_post_from_everyone(world):
    author, cameo, viewers = world
    post = GenerationFactory(requester=author, cameos=[cameo], published_at=timezone.now())
    post.post.tag_removed_at = timezone.now()
    post.post.save()
    assert not any(posts_visible_to(viewer).filter(pk=post.pk).exists() for viewer in viewers.values())


def test_a_feed_page_costs_the_same_queries_whatever_its_size(
    world, client_for, django_assert_max_num_queries, person
):
    author, cameo, viewers = world
    client = client_for(viewers["follower"])
    GenerationFactory(requester=author, cameos=[cameo], published_at=timezone.now())
    with django_assert_max_num_queries(6) as one:
        assert client.get("/api/v1/feed/").status_code == 200
    for _ in range(15):
        other_cameo = CameoFactory(owner=person(f"o{_}"), permission="everyone")
        GenerationFactory(requester=author, cameos=[cameo, other_cameo], published_at=timezone.now())
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(client.get("/api/v1/feed/").json()["results"]) == 16


def test_a_post_marked_for_adults_is_hidden_from_minors_and_anonymous_visitors(person):
    from datetime import date

    from django.contrib.auth.models import AnonymousUser

    from feed.services import post_set_adults_only

    author, adult = person("author"), person("adult")
    teen = person("teen", birth_date=date(timezone.localdate().year - 15, 1, 1))
    unknown_age = person("unknown", birth_date=None)
    post = GenerationFactory(requester=author, published_at=timezone.now())

    post_set_adults_only(post_id=post.pk, adults_only=True)

    seeing = {
        name
        for name, viewer in {
            "author": author,
            "adult": adult,
            "teen": teen,
            "unknown": unknown_age,
            "anonymous": AnonymousUser(),
        }.items()
        if posts_visible_to(viewer).filter(pk=post.pk).exists()
    }
    assert seeing == {"author", "adult"}
    post_set_adults_only(post_id=post.pk, adults_only=False)
    assert posts_visible_to(teen).filter(pk=post.pk).exists()


def test_following_candidates_are_the_newest_posts_of_the_people_followed(person):
    """Before visibility: published videos only, of followed accounts only, newest first, ties on the
    instant broken by id, strictly older than `before`, at most `limit`; on PostgreSQL one index range per
    followed account (LATERAL), elsewhere one plain query, with the same answer."""
    viewer, followed, other, unfollowed = (
        person(name) for name in ("viewer", "followed", "other", "unfollowed")
    )
    Follow.objects.create(follower=viewer, followee=followed)
    Follow.objects.create(follower=viewer, followee=other)
    now = timezone.now()
    a = GenerationFactory(requester=followed, published_at=now - timedelta(minutes=3))
    b = GenerationFactory(requester=other, published_at=now - timedelta(minutes=2))
    c = GenerationFactory(requester=followed, published_at=now - timedelta(minutes=2))  # same instant as b
    d = GenerationFactory(
        requester=other, published_at=now - timedelta(minutes=1), post__visibility="private"
    )
    GenerationFactory(requester=followed)  # a draft
    GenerationFactory(requester=unfollowed, published_at=now)

    def ids(rows: list) -> list[int]:
        return [pk for _, pk in rows]

    newest_first = [d.pk, *sorted([b.pk, c.pk], reverse=True), a.pk]
    assert ids(following_candidates(viewer=viewer, before=None, limit=10)) == newest_first
    assert ids(following_candidates(viewer=viewer, before=None, limit=2)) == newest_first[:2]
    second = following_candidates(viewer=viewer, before=None, limit=2)[-1]
    assert ids(following_candidates(viewer=viewer, before=second, limit=10)) == newest_first[2:]
    assert following_candidates(viewer=unfollowed, before=None, limit=10) == []
