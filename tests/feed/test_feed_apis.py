"""Following, a profile's posts and a post's remixes: who sees what, a keyset cursor that stays right while
posts arrive, a constant number of queries per page; owner / other / anonymous."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Block, Follow
from feed.models import Post
from tests.factories import CameoFactory, GenerationFactory
from tests.feed.test_selectors import SEES

pytestmark = pytest.mark.django_db

FOLLOWING = "/api/v1/feed/following/"


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["id"] for item in response.json()["results"]]


@pytest.mark.parametrize("visibility", SEES)
def test_following_shows_only_followed_authors_as_the_audience_allows(world, visibility, client_for):
    author, cameo, viewers = world
    post = GenerationFactory(
        requester=author, cameos=[cameo], published_at=timezone.now(), post__visibility=visibility
    )
    following = {name for name in viewers if name not in ("author", "stranger", "cameo_owner", "anonymous")}
    for name, viewer in viewers.items():
        if name == "anonymous":
            continue
        expected = [post.pk] if name in SEES[visibility] & following else []
        assert ids(client_for(viewer).get(FOLLOWING)) == expected, name


def test_following_is_newest_first_and_leaves_out_people_not_followed(client_for, leo, maya, stranger):
    Follow.objects.create(follower=stranger, followee=leo)
    now = timezone.now()
    older = GenerationFactory(requester=leo, published_at=now - timedelta(hours=1))
    newer = GenerationFactory(requester=leo, published_at=now)
    GenerationFactory(requester=maya, published_at=now)  # not followed
    GenerationFactory(requester=leo)  # a draft
    assert ids(client_for(stranger).get(FOLLOWING)) == [newer.pk, older.pk]


def test_the_cursor_stays_right_while_posts_arrive(client_for, leo, stranger):
    """Pages of 2 over 7 posts, two of them published at the same instant across a page boundary; three
    new posts arrive between pages. The pages hold every post that existed at the start, once, in order."""
    Follow.objects.create(follower=stranger, followee=leo)
    start = timezone.now() - timedelta(days=1)
    times = [start + timedelta(minutes=m) for m in (0, 1, 2, 2, 3, 4, 5)]
    existing = [GenerationFactory(requester=leo, published_at=when) for when in times]
    expected = [g.pk for g in sorted(existing, key=lambda g: (g.published_at, g.pk), reverse=True)]
    client = client_for(stranger)

    seen, url = [], f"{FOLLOWING}?page_size=2"
    while url:
        response = client.get(url)
        seen += ids(response)
        url = response.json()["next"]
        GenerationFactory(requester=leo, published_at=timezone.now())  # arrives between pages

    assert seen == expected


def test_a_page_whose_candidates_are_mostly_hidden_is_short_but_leads_on(client_for, leo, maya, stranger):
    """A Following page looks at twice its size plus one of the newest posts of the people followed (6 for
    pages of 2); when most are hidden it comes out short, or empty, with a `next` link that starts after the
    last one looked at, so following `next` still lists every visible post once, in order."""
    Follow.objects.create(follower=stranger, followee=leo)
    Follow.objects.create(follower=stranger, followee=maya)
    start = timezone.now() - timedelta(days=1)
    visible = [
        GenerationFactory(requester=author, published_at=start + timedelta(minutes=minute))
        for author, minute in ((leo, 1), (maya, 2), (leo, 3))
    ]
    for minute in range(10, 20):  # the ten newest: private, hidden from the follower
        GenerationFactory(
            requester=leo, published_at=start + timedelta(minutes=minute), post__visibility="private"
        )
    client = client_for(stranger)

    pages, url = [], f"{FOLLOWING}?page_size=2"
    while url:
        response = client.get(url)
        pages.append(ids(response))
        url = response.json()["next"]

    assert pages[0] == []  # six private posts looked at, none shown, and still a next link
    assert [pk for page in pages for pk in page] == [g.pk for g in reversed(visible)]


# Garbage; a date without an id; "x|y"; a date without a time zone.
@pytest.mark.parametrize("cursor", ["nonsense", "MjAyNi0xMS0yOQ", "eHx5", "MjAyNi0xMS0yOVQwMDowMHwx"])
def test_a_cursor_we_did_not_hand_out_is_refused(client_for, stranger, cursor):
    response = client_for(stranger).get(f"{FOLLOWING}?cursor={cursor}")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"


def test_a_following_page_costs_the_same_queries_whatever_its_size(
    client_for, stranger, person, django_assert_max_num_queries
):
    authors = [person(f"author{n}") for n in range(5)]
    for author in authors:
        Follow.objects.create(follower=stranger, followee=author)
    client = client_for(stranger)
    cameo = CameoFactory(owner=person("owner"), permission="everyone")
    GenerationFactory(requester=authors[0], cameos=[cameo], published_at=timezone.now())
    with django_assert_max_num_queries(6) as one:
        assert len(ids(client.get(FOLLOWING))) == 1
    for n in range(24):
        extra = CameoFactory(owner=person(f"extra{n}"), permission="everyone")
        GenerationFactory(requester=authors[n % 5], cameos=[cameo, extra], published_at=timezone.now())
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(ids(client.get(FOLLOWING))) == 20


def test_anonymous_gets_no_feeds(api_client, leo):
    post = GenerationFactory(requester=leo, published_at=timezone.now())
    for url in (FOLLOWING, "/api/v1/users/leo/posts/", f"/api/v1/posts/{post.pk}/remixes/"):
        assert api_client.get(url).status_code == 401


def test_a_profile_lists_the_posts_the_viewer_may_see(client_for, leo, stranger, person):
    public = GenerationFactory(requester=leo, published_at=timezone.now())
    private = GenerationFactory(requester=leo, published_at=timezone.now(), post__visibility="private")
    GenerationFactory(requester=leo)  # a draft is no post
    assert ids(client_for(leo).get("/api/v1/users/leo/posts/")) == [private.pk, public.pk]
    assert ids(client_for(stranger).get("/api/v1/users/LEO/posts/")) == [public.pk]
    blocked = person("blocked")
    Block.objects.create(blocker=leo, blocked=blocked)
    response = client_for(blocked).get("/api/v1/users/leo/posts/")
    assert (response.status_code, response.json()["code"]) == (404, "user_not_found")
    assert client_for(stranger).get("/api/v1/users/nobody/posts/").status_code == 404


def test_the_remixes_of_a_post(client_for, leo, maya, stranger, person):
    source = GenerationFactory(requester=leo, published_at=timezone.now())
    remix = GenerationFactory(requester=maya, published_at=timezone.now(), remix_of=source)
    private_remix = GenerationFactory(
        requester=maya, published_at=timezone.now(), remix_of=source, post__visibility="private"
    )
    GenerationFactory(requester=maya, remix_of=source)  # a draft
    assert ids(client_for(stranger).get(f"/api/v1/posts/{source.pk}/remixes/")) == [remix.pk]
    assert ids(client_for(maya).get(f"/api/v1/posts/{source.pk}/remixes/")) == [private_remix.pk, remix.pk]
    Post.objects.filter(pk=source.pk).update(visibility="private")
    response = client_for(stranger).get(f"/api/v1/posts/{source.pk}/remixes/")
    assert (response.status_code, response.json()["code"]) == (404, "post_not_found")


def test_a_cameos_posts_are_those_the_viewer_may_see_of_a_cameo_they_may_see(client_for, leo, maya, stranger):
    cameo = CameoFactory(owner=maya, permission="everyone")
    public = GenerationFactory(requester=leo, cameos=[cameo], published_at=timezone.now())
    private = GenerationFactory(
        requester=leo, cameos=[cameo], published_at=timezone.now(), post__visibility="private"
    )
    GenerationFactory(requester=leo, published_at=timezone.now())  # without the cameo
    GenerationFactory(requester=leo, cameos=[cameo])  # a draft
    url = f"/api/v1/cameos/{cameo.pk}/posts/"

    assert ids(client_for(stranger).get(url)) == [public.pk]
    assert ids(client_for(leo).get(url)) == [private.pk, public.pk]  # the author
    assert ids(client_for(maya).get(url)) == [public.pk]  # the owner: as the audience allows

    Block.objects.create(blocker=maya, blocked=stranger)
    response = client_for(stranger).get(url)
    assert (response.status_code, response.json()["code"]) == (404, "cameo_not_found")
    cameo.status = "rejected"
    cameo.save()
    assert client_for(leo).get(url).status_code == 404
    assert client_for(maya).get(url).status_code == 200  # the owner's own cameo


def test_anonymous_gets_no_cameo_posts(api_client, maya):
    cameo = CameoFactory(owner=maya, permission="everyone")
    assert api_client.get(f"/api/v1/cameos/{cameo.pk}/posts/").status_code == 401


@pytest.mark.parametrize("feed", ["profile", "cameo", "remixes", "all"])
def test_every_keyset_feed_stays_right_while_posts_arrive(client_for, leo, maya, stranger, feed):
    cameo = CameoFactory(owner=maya, permission="everyone")
    source = GenerationFactory(requester=maya, published_at=timezone.now() - timedelta(days=2))
    url = {
        "profile": "/api/v1/users/leo/posts/",
        "cameo": f"/api/v1/cameos/{cameo.pk}/posts/",
        "remixes": f"/api/v1/posts/{source.pk}/remixes/",
        "all": "/api/v1/feed/",
    }[feed]
    start = timezone.now() - timedelta(days=1)

    def new_post(when):
        return GenerationFactory(requester=leo, cameos=[cameo], remix_of=source, published_at=when)

    existing = [new_post(start + timedelta(minutes=m)) for m in (0, 1, 1, 2, 3)]
    expected = [g.pk for g in sorted(existing, key=lambda g: (g.published_at, g.pk), reverse=True)]
    if feed == "all":
        expected.append(source.pk)
    seen, page = [], f"{url}?page_size=2"
    while page:
        response = client_for(stranger).get(page)
        seen += ids(response)
        page = response.json()["next"]
        new_post(timezone.now())

    assert seen == expected
