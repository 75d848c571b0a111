"""Teen rules (feed.selectors.posts_visible_to's docstring): a viewer under 18 sees no post by an adult
stranger that features a minor's cameo (in any feed, on the share page, through a signed media link), no
comment by an adult stranger, and an adult stranger may not comment on a minor's post."""

from datetime import date

import pytest
from django.utils import timezone

from accounts.models import Follow
from feed.models import Comment
from feed.selectors import posts_visible_to
from generation.selectors import generation_for_media, generations_visible_to
from tests.factories import CameoFactory, GenerationFactory

pytestmark = pytest.mark.django_db


def teen_birth_date() -> date:
    return date(timezone.localdate().year - 15, 1, 1)


@pytest.fixture
def teen(person):
    return person("teen", birth_date=teen_birth_date())


def follow_each_other(a, b) -> None:
    Follow.objects.create(follower=a, followee=b)
    Follow.objects.create(follower=b, followee=a)


def featuring(author, owner):
    cameo = CameoFactory(owner=owner, permission="everyone")
    generation = GenerationFactory(requester=author, cameos=[cameo], published_at=timezone.now())
    generation.video = f"generations/{generation.pk}.mp4"
    generation.save(update_fields=["video"])
    return generation


def sees(viewer, generation) -> dict[str, bool]:
    return {
        "feed": posts_visible_to(viewer).filter(pk=generation.pk).exists(),
        "share page": generations_visible_to(viewer).filter(pk=generation.pk).exists(),
        "media": generation_for_media(viewer=viewer, name=generation.video.name) is not None,
    }


NOWHERE = {"feed": False, "share page": False, "media": False}
EVERYWHERE = {"feed": True, "share page": True, "media": True}


def test_a_minor_does_not_see_an_adult_strangers_post_with_a_minors_cameo(teen, person, client_for):
    adult, other_teen = person("adult"), person("other_teen", birth_date=teen_birth_date())
    post = featuring(adult, other_teen)

    assert sees(teen, post) == NOWHERE
    assert sees(person("grown_up"), post) == EVERYWHERE
    for url in ("/api/v1/feed/", "/api/v1/feed/for-you/", "/api/v1/users/adult/posts/"):
        assert client_for(teen).get(url).json()["results"] == [], url
    assert client_for(teen).get(f"/api/v1/posts/{post.pk}/").status_code == 404

    follow_each_other(teen, adult)  # no longer a stranger
    assert sees(teen, post) == EVERYWHERE


def test_the_rule_needs_all_three_an_adult_author_a_stranger_and_a_minors_cameo(teen, person):
    unknown_age = person("unknown_age", birth_date=None)  # of unknown age: a minor to these rules
    assert sees(teen, featuring(person("adult"), unknown_age)) == NOWHERE
    young = person("young", birth_date=teen_birth_date())
    assert sees(teen, featuring(young, person("young2", birth_date=teen_birth_date()))) == EVERYWHERE
    assert sees(teen, featuring(person("adult2"), person("adult3"))) == EVERYWHERE
    one_way = person("one_way")
    Follow.objects.create(follower=teen, followee=one_way)  # following is not enough: each other
    assert sees(teen, featuring(one_way, person("young3", birth_date=teen_birth_date()))) == NOWHERE


def test_a_minor_keeps_seeing_their_own_appearance(teen, person):
    assert sees(teen, featuring(person("adult"), teen))["share page"]


def test_comments_by_adult_strangers_are_hidden_from_minors(teen, person, client_for, leo):
    post = GenerationFactory(requester=leo, published_at=timezone.now())
    friend, stranger, young = person("friend"), person("adult_stranger"), person("young", birth_date=teen_birth_date())
    follow_each_other(teen, friend)
    for author in (friend, stranger, young, teen):
        Comment.objects.create(post=post.post, author=author, text=f"by {author.username}")

    def authors(viewer) -> list[str]:
        response = client_for(viewer).get(f"/api/v1/posts/{post.pk}/comments/")
        return [comment["author"] for comment in response.json()["results"]]

    assert authors(teen) == ["friend", "young", "teen"]
    assert authors(person("grown_up")) == ["friend", "adult_stranger", "young", "teen"]


def test_an_adult_stranger_may_not_comment_on_a_minors_post(teen, person, client_for):
    post = GenerationFactory(requester=teen, published_at=timezone.now())
    url = f"/api/v1/posts/{post.pk}/comments/"
    stranger, friend, young = person("adult_stranger"), person("friend"), person("young", birth_date=teen_birth_date())
    follow_each_other(teen, friend)

    response = client_for(stranger).post(url, {"text": "hi"}, format="json")

    assert (response.status_code, response.json()["code"]) == (403, "comment_to_minor_not_allowed")
    assert client_for(friend).post(url, {"text": "hi"}, format="json").status_code == 201
    assert client_for(young).post(url, {"text": "hi"}, format="json").status_code == 201
    assert client_for(teen).post(url, {"text": "mine"}, format="json").status_code == 201
