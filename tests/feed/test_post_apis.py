"""Posts: publish with a caption and an audience, edit, unpublish, delete, and a cameo owner's tag removal;
owner / other / anonymous for each."""

import pytest

from accounts.models import Block
from cameos.models import CameoPermission
from feed.models import CAPTION_MAX_CHARS, Post
from generation.models import Generation

pytestmark = pytest.mark.django_db

# What the public view of a post must never carry: the prompt, its specification, the job's internals.
PRIVATE_FIELDS = {"prompt", "spec", "stage", "progress", "failure_reason", "engine", "provenance"}


def publish(client, generation, **settings):
    return client.post("/api/v1/posts/", {"generation_id": generation.pk, **settings}, format="json")


def test_publishing_creates_a_post_with_a_parsed_caption(client_for, leo, maya, stranger, draft, person):
    blocker = person("blocker")
    Block.objects.create(blocker=blocker, blocked=leo)
    caption = "Chess with @Maya on the moon #chess #Moon #chess @nobody @blocker mail@maya.com #123"

    response = publish(client_for(leo), draft, caption=caption, visibility="public")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["caption"], body["visibility"], body["comments_enabled"]) == (
        draft.pk,
        caption,
        "public",
        True,
    )
    assert body["hashtags"] == ["chess", "moon"]
    assert body["mentions"] == ["maya"]  # as registered; unknown and blocked people left out
    assert body["published_at"] is not None
    assert Post.objects.get(pk=draft.pk).caption == caption


def test_the_public_view_carries_nothing_of_how_the_video_was_made(client_for, leo, stranger, draft):
    publish(client_for(leo), draft, caption="hi")
    seen_in_feed = client_for(stranger).get("/api/v1/feed/").json()["results"]
    seen_alone = client_for(stranger).get(f"/api/v1/posts/{draft.pk}/").json()

    assert [item["id"] for item in seen_in_feed] == [draft.pk]
    for item in (seen_in_feed[0], seen_alone):
        assert not PRIVATE_FIELDS & set(item), item
        assert "tag_removed_at" not in item
        assert item["cameos"] == [{"mention": "@maya", "owner": "maya"}]


def test_a_caption_is_capped(client_for, leo, draft):
    response = publish(client_for(leo), draft, caption="x" * (CAPTION_MAX_CHARS + 1))
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert "caption" in response.json()["extra"]["fields"]
    assert not Generation.objects.get(pk=draft.pk).published_at


@pytest.mark.parametrize(
    "body", [{"visibility": "friends"}, {"comments_enabled": "yes"}, {"caption": 7}, {"colour": "red"}]
)
def test_bad_post_settings_are_refused(client_for, leo, draft, body):
    response = publish(client_for(leo), draft, **body)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_publishing_re_checks_consent_for_every_cameo(client_for, leo, draft, mayas_cameo):
    mayas_cameo.permission = CameoPermission.ONLY_ME
    mayas_cameo.save()
    response = publish(client_for(leo), draft)
    assert response.status_code == 409
    assert response.json()["code"] == "consent_revoked"
    assert not Post.objects.filter(pk=draft.pk).exists()


def test_only_the_author_publishes(client_for, api_client, maya, stranger, draft):
    for user in (maya, stranger):
        assert publish(client_for(user), draft).status_code == 404
    assert publish(api_client, draft).status_code == 401
    assert not Post.objects.exists()


def test_the_author_edits_the_caption_and_audience(client_for, api_client, leo, maya, stranger, draft):
    publish(client_for(leo), draft, caption="first")
    url = f"/api/v1/posts/{draft.pk}/"

    response = client_for(leo).patch(
        url, {"caption": "now #better", "comments_enabled": False}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["caption"], response.json()["hashtags"]) == ("now #better", ["better"])
    assert (response.json()["comments_enabled"], response.json()["visibility"]) == (False, "public")
    for user in (maya, stranger):
        assert client_for(user).patch(url, {"caption": "mine"}, format="json").status_code == 404
    assert api_client.patch(url, {"caption": "mine"}, format="json").status_code == 401
    assert Post.objects.get(pk=draft.pk).caption == "now #better"


def test_unpublish_takes_the_post_out_and_republishing_keeps_its_caption(
    client_for, api_client, leo, stranger, draft
):
    publish(client_for(leo), draft, caption="keep me", visibility="public")
    url = f"/api/v1/posts/{draft.pk}/unpublish/"
    assert client_for(stranger).post(url).status_code == 404
    assert api_client.post(url).status_code == 401

    response = client_for(leo).post(url)

    assert response.status_code == 200
    assert response.json()["published_at"] is None
    assert client_for(stranger).get("/api/v1/feed/").json()["results"] == []
    assert client_for(stranger).get(f"/api/v1/posts/{draft.pk}/").status_code == 404
    assert client_for(leo).get(f"/api/v1/posts/{draft.pk}/").status_code == 404  # a draft is no post
    republished = publish(client_for(leo), draft).json()
    assert (republished["caption"], republished["published_at"] is not None) == ("keep me", True)


def test_the_author_deletes_a_post_and_its_video(client_for, api_client, leo, maya, stranger, draft):
    publish(client_for(leo), draft)
    url = f"/api/v1/posts/{draft.pk}/"
    for user in (maya, stranger):
        assert client_for(user).delete(url).status_code == 404
    assert api_client.delete(url).status_code == 401

    assert client_for(leo).delete(url).status_code == 204

    assert client_for(stranger).get("/api/v1/feed/").json()["results"] == []
    assert Generation.objects.get(pk=draft.pk).deleted_at is not None
    assert client_for(leo).delete(url).status_code == 404


def test_a_cameo_owner_removes_their_tag_and_the_post_leaves_every_feed(
    client_for, api_client, leo, maya, stranger, draft
):
    publish(client_for(leo), draft, caption="with maya")
    url = f"/api/v1/posts/{draft.pk}/tag/"
    for user in (leo, stranger):  # the author is not in the video; a stranger neither
        assert client_for(user).delete(url).status_code == 404
    assert api_client.delete(url).status_code == 401

    assert client_for(maya).delete(url).status_code == 204
    assert client_for(maya).delete(url).status_code == 204  # idempotent

    for user in (leo, maya, stranger):
        assert client_for(user).get("/api/v1/feed/").json()["results"] == []
    assert client_for(stranger).get(f"/api/v1/posts/{draft.pk}/").status_code == 404
    assert client_for(stranger).get(f"/api/v1/generations/{draft.pk}/").status_code == 404  # share page
    again = publish(client_for(leo), draft)
    assert (again.status_code, again.json()["code"]) == (409, "tag_removed")
    # ...nor through the generation app's own publish route: the one publish path refuses it
    assert client_for(leo).post(f"/api/v1/generations/{draft.pk}/publish/").status_code == 409
    assert Generation.objects.get(pk=draft.pk).published_at is None


def test_publishing_through_the_generation_route_creates_the_post(client_for, leo, stranger, draft):
    assert client_for(leo).post(f"/api/v1/generations/{draft.pk}/publish/").status_code == 200
    post = Post.objects.get(pk=draft.pk)
    assert (post.visibility, post.caption, post.comments_enabled) == ("public", "", True)
    assert [item["id"] for item in client_for(stranger).get("/api/v1/feed/").json()["results"]] == [draft.pk]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_an_id_beyond_the_column_is_not_found(client_for, leo, method):
    response = getattr(client_for(leo), method)(f"/api/v1/posts/{10**30}/", {}, format="json")
    assert (response.status_code, response.json()["code"]) == (404, "post_not_found")
    response = client_for(leo).delete(f"/api/v1/posts/{10**30}/tag/")
    assert (response.status_code, response.json()["code"]) == (404, "post_not_found")


def test_a_post_counts_its_published_remixes_that_are_up(client_for, leo, stranger, draft):
    from django.utils import timezone

    from tests.factories import GenerationFactory

    client_for(leo).post("/api/v1/posts/", {"generation_id": draft.pk})
    GenerationFactory(requester=stranger, remix_of=draft, published_at=timezone.now())
    GenerationFactory(requester=stranger, remix_of=draft, published_at=timezone.now())
    GenerationFactory(requester=stranger, remix_of=draft)  # a draft: not counted
    GenerationFactory(requester=stranger, remix_of=draft, published_at=timezone.now(), removed_at=timezone.now())

    assert client_for(stranger).get(f"/api/v1/posts/{draft.pk}/").json()["remix_count"] == 2
    [listed] = [p for p in client_for(stranger).get("/api/v1/feed/").json()["results"] if p["id"] == draft.pk]
    assert listed["remix_count"] == 2
    assert client_for(leo).patch(f"/api/v1/posts/{draft.pk}/", {"caption": "x"}).json()["remix_count"] == 2
