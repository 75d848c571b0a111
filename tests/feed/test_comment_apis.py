"""Comments with one level of replies: who may comment, edit and delete; comments off; blocks and mutes;
the counter; owner / other / anonymous for each."""

import pytest
from django.utils import timezone

from accounts.models import Block, Mute
from feed.models import COMMENT_MAX_CHARS, Comment, Post
from tests.factories import GenerationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(leo):
    return GenerationFactory(requester=leo, published_at=timezone.now())


def comments_url(post) -> str:
    return f"/api/v1/posts/{post.pk}/comments/"


def comment(client, post, text, parent=None):
    body = {"text": text} if parent is None else {"text": text, "parent_id": parent}
    return client.post(comments_url(post), body, format="json")


def count(post) -> int:
    return Post.objects.get(pk=post.pk).comment_count


def test_comments_and_one_level_of_replies(client_for, leo, maya, stranger, post):
    first = comment(client_for(maya), post, "nice").json()
    reply = comment(client_for(leo), post, "thanks", parent=first["id"])
    assert reply.status_code == 201
    deeper = comment(client_for(stranger), post, "me too", parent=reply.json()["id"])
    assert (deeper.status_code, deeper.json()["code"]) == (400, "reply_to_reply")
    elsewhere = GenerationFactory(requester=leo, published_at=timezone.now())
    wrong_post = comment(client_for(stranger), elsewhere, "x", parent=first["id"])
    assert (wrong_post.status_code, wrong_post.json()["code"]) == (404, "comment_not_found")

    listed = client_for(stranger).get(comments_url(post)).json()["results"]

    assert [(c["author"], c["text"], [r["text"] for r in c["replies"]]) for c in listed] == [
        ("maya", "nice", ["thanks"])
    ]
    assert count(post) == 2
    feed = client_for(stranger).get("/api/v1/feed/").json()["results"]
    assert {item["id"]: item["comment_count"] for item in feed} == {post.pk: 2, elsewhere.pk: 0}


def test_comments_off_refuses(client_for, leo, stranger, post):
    Post.objects.filter(pk=post.pk).update(comments_enabled=False)
    for user in (stranger, leo):
        response = comment(client_for(user), post, "hi")
        assert (response.status_code, response.json()["code"]) == (409, "comments_disabled")
    assert count(post) == 0


def test_a_comment_is_capped_and_must_be_text(client_for, stranger, post):
    for text in ("x" * (COMMENT_MAX_CHARS + 1), "", 5):
        assert comment(client_for(stranger), post, text).status_code == 400
    assert count(post) == 0


def test_only_who_may_see_the_post_comments(client_for, api_client, leo, person, post):
    blocked = person("blocked")
    Block.objects.create(blocker=leo, blocked=blocked)
    for response in (comment(client_for(blocked), post, "hi"), client_for(blocked).get(comments_url(post))):
        assert (response.status_code, response.json()["code"]) == (404, "post_not_found")
    assert comment(api_client, post, "hi").status_code == 401
    assert api_client.get(comments_url(post)).status_code == 401


def test_comments_of_blocked_and_muted_people_are_left_out(client_for, maya, stranger, person, post):
    pest = person("pest")
    comment(client_for(pest), post, "spam")
    comment(client_for(maya), post, "hello")
    Mute.objects.create(muter=stranger, muted=pest)
    assert [c["text"] for c in client_for(stranger).get(comments_url(post)).json()["results"]] == ["hello"]
    Block.objects.create(blocker=pest, blocked=maya)
    assert [c["text"] for c in client_for(maya).get(comments_url(post)).json()["results"]] == ["hello"]


def test_the_commenter_edits_and_nobody_else(client_for, api_client, leo, maya, stranger, post):
    made = comment(client_for(maya), post, "typo").json()
    url = f"/api/v1/comments/{made['id']}/"
    for user in (leo, stranger):  # the post's author may delete, not edit
        response = client_for(user).patch(url, {"text": "mine"}, format="json")
        assert (response.status_code, response.json()["code"]) == (404, "comment_not_found")
    assert api_client.patch(url, {"text": "mine"}, format="json").status_code == 401

    response = client_for(maya).patch(url, {"text": "fixed"}, format="json")

    assert (response.status_code, response.json()["text"]) == (200, "fixed")
    assert response.json()["edited_at"] is not None


def test_the_commenter_or_the_posts_author_deletes(client_for, api_client, leo, maya, stranger, post):
    first = comment(client_for(maya), post, "one").json()
    comment(client_for(stranger), post, "reply", parent=first["id"])
    second = comment(client_for(stranger), post, "two").json()
    assert count(post) == 3
    for user in (stranger,):
        assert client_for(user).delete(f"/api/v1/comments/{first['id']}/").status_code == 404
    assert api_client.delete(f"/api/v1/comments/{first['id']}/").status_code == 401

    assert client_for(leo).delete(f"/api/v1/comments/{first['id']}/").status_code == 204  # with its reply
    assert count(post) == 1
    assert client_for(stranger).delete(f"/api/v1/comments/{second['id']}/").status_code == 204
    assert count(post) == 0 == Comment.objects.count()
    assert client_for(stranger).delete(f"/api/v1/comments/{second['id']}/").status_code == 404
