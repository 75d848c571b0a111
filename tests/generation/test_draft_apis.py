"""Following, canceling, publishing and deleting a video; who may see it; the feed."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import Block, Mute
from cameos.models import CameoAccessRequest
from feed.models import Post
from generation.models import Generation, GenerationStatus
from tests.factories import CameoFactory, GenerationFactory, UserFactory, with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def maya(make_user):
    return make_user(username="maya")


@pytest.fixture
def leo(make_user):
    return make_user(username="leo")


@pytest.fixture
def stranger(make_user):
    return make_user(username="stranger")


@pytest.fixture
def cameo(maya, leo):
    cameo = CameoFactory(owner=maya, permission="approved")
    CameoAccessRequest.objects.create(cameo=cameo, requester=leo, status="approved")
    return cameo


@pytest.fixture
def draft(leo, cameo):
    generation = GenerationFactory(requester=leo, cameos=[cameo], status=GenerationStatus.SUCCEEDED)
    generation.video = default_storage.save(
        f"generations/{leo.pk}/{generation.pk}/video.mp4", ContentFile(b"mp4")
    )
    generation.poster = default_storage.save(
        f"generations/{leo.pk}/{generation.pk}/poster.jpg", ContentFile(b"jpg")
    )
    generation.save()
    return generation


def url(generation, action=""):
    return f"/api/v1/generations/{generation.pk}/" + (f"{action}/" if action else "")


# -- who sees a draft ----------------------------------------------------------------------------------------


def test_the_requester_sees_their_draft_with_signed_media(client_for, leo, draft):
    body = client_for(leo).get(url(draft)).json()
    assert body["status"] == "succeeded"
    assert body["video_url"].startswith("http://testserver/media-signed/")
    assert body["poster_url"].startswith("http://testserver/media-signed/")
    assert body["published_at"] is None


def test_the_cameo_owner_sees_a_draft_using_their_cameo(client_for, maya, draft):
    response = client_for(maya).get(url(draft))
    assert response.status_code == 200
    assert response.json()["video_url"] is not None


def test_a_stranger_cannot_see_a_draft(client_for, stranger, draft):
    response = client_for(stranger).get(url(draft))
    assert response.status_code == 404
    assert response.json()["code"] == "generation_not_found"


def test_anonymous_cannot_see_anything(api_client, draft):
    assert api_client.get(url(draft)).status_code == 401
    assert api_client.get("/api/v1/generations/").status_code == 401
    assert api_client.get("/api/v1/feed/").status_code == 401


def test_a_published_video_is_seen_by_others_but_not_by_blocked_users(client_for, leo, stranger, draft):
    draft.published_at = timezone.now()
    draft.save()
    # Published, so it has its post (feed.receivers), whose audience (public) decides who may play it.
    Post.objects.create(generation=draft)
    assert client_for(stranger).get(url(draft)).json()["video_url"] is not None
    Block.objects.create(blocker=leo, blocked=stranger)
    assert client_for(stranger).get(url(draft)).status_code == 404


def test_a_held_or_blocked_video_is_not_playable_by_its_requester(client_for, leo, draft, make_user):
    draft.status = GenerationStatus.BLOCKED
    draft.save()
    assert client_for(leo).get(url(draft)).json()["video_url"] is None
    staff = make_user(username="staff", is_staff=True)
    moderator = with_role(make_user(username="mod"), "moderator")
    draft.cameo_uses.update(owner=moderator)  # a moderator reaches it through the moderation case
    assert client_for(moderator).get(url(draft)).json()["video_url"] is not None
    # Staff status alone is no moderation role (it only opens the admin site).
    draft.cameo_uses.update(owner=staff)
    assert client_for(staff).get(url(draft)).json()["video_url"] is None


def test_list_of_my_videos_filters_by_status(client_for, leo, draft, cameo):
    GenerationFactory(requester=leo, cameos=[cameo], status=GenerationStatus.QUEUED)
    GenerationFactory(requester=UserFactory(), cameos=[cameo])  # someone else's
    client = client_for(leo)
    assert len(client.get("/api/v1/generations/").json()["results"]) == 2
    queued = client.get("/api/v1/generations/?status=queued").json()["results"]
    assert [g["status"] for g in queued] == ["queued"]
    bad = client.get("/api/v1/generations/?status=bogus")
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_filter"


# -- cancel ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [GenerationStatus.QUEUED, GenerationStatus.RUNNING])
def test_the_requester_cancels_a_job_in_flight(client_for, leo, cameo, state):
    job = GenerationFactory(requester=leo, cameos=[cameo], status=state)
    response = client_for(leo).post(url(job, "cancel"))
    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    job.refresh_from_db()
    assert (job.status, job.failure_reason) == ("canceled", "canceled_by_requester")
    assert job.finished_at is not None


def test_a_finished_job_cannot_be_canceled(client_for, leo, draft):
    response = client_for(leo).post(url(draft, "cancel"))
    assert response.status_code == 409
    assert response.json()["code"] == "generation_not_cancelable"


def test_only_the_requester_cancels(client_for, maya, stranger, leo, cameo):
    job = GenerationFactory(requester=leo, cameos=[cameo], status=GenerationStatus.QUEUED)
    for user in (maya, stranger):
        assert client_for(user).post(url(job, "cancel")).status_code == 404
    job.refresh_from_db()
    assert job.status == GenerationStatus.QUEUED


# -- publish and the feed ---------------------------------------------------------------------------------------


def test_publish_puts_a_draft_in_the_feed(client_for, leo, stranger, draft):
    response = client_for(leo).post(url(draft, "publish"))
    assert response.status_code == 200
    assert response.json()["published_at"] is not None
    feed = client_for(stranger).get("/api/v1/feed/").json()["results"]
    assert [item["id"] for item in feed] == [draft.pk]
    assert client_for(leo).delete(url(draft, "publish")).json()["published_at"] is None
    assert client_for(stranger).get("/api/v1/feed/").json()["results"] == []


def test_publishing_needs_consent_now(client_for, leo, draft, cameo):
    CameoAccessRequest.objects.filter(cameo=cameo).delete()  # maya removed leo's approval
    response = client_for(leo).post(url(draft, "publish"))
    assert response.status_code == 409
    assert response.json()["code"] == "consent_revoked"


def test_a_taken_down_video_cannot_be_published(client_for, leo, maya, draft):
    assert client_for(maya).delete(f"/api/v1/cameos/appearances/{draft.pk}/").status_code == 204
    response = client_for(leo).post(url(draft, "publish"))
    assert response.status_code == 409
    assert response.json()["code"] == "generation_removed"


@pytest.mark.parametrize(
    "state", [GenerationStatus.QUEUED, GenerationStatus.FAILED, GenerationStatus.BLOCKED]
)
def test_only_a_finished_video_is_publishable(client_for, leo, cameo, state):
    job = GenerationFactory(requester=leo, cameos=[cameo], status=state)
    response = client_for(leo).post(url(job, "publish"))
    assert response.status_code == 409
    assert response.json()["code"] == "generation_not_publishable"


def test_others_cannot_publish(client_for, maya, stranger, draft):
    for user in (maya, stranger):
        assert client_for(user).post(url(draft, "publish")).status_code == 404


def test_the_feed_leaves_out_blocked_and_muted_people(client_for, leo, stranger, draft, make_user):
    assert client_for(leo).post(url(draft, "publish")).status_code == 200
    viewer = make_user(username="viewer")
    assert len(client_for(viewer).get("/api/v1/feed/").json()["results"]) == 1
    Mute.objects.create(muter=viewer, muted=leo)
    assert client_for(viewer).get("/api/v1/feed/").json()["results"] == []
    Block.objects.create(blocker=leo, blocked=stranger)
    assert client_for(stranger).get("/api/v1/feed/").json()["results"] == []


# -- delete ---------------------------------------------------------------------------------------------------


def test_the_requester_deletes_a_video_and_its_media(
    client_for, leo, stranger, draft, django_capture_on_commit_callbacks
):
    draft.published_at = timezone.now()
    draft.save()
    names = [draft.video.name, draft.poster.name]
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(leo).delete(url(draft)).status_code == 204
    assert not any(default_storage.exists(name) for name in names)
    assert client_for(leo).get(url(draft)).status_code == 404
    assert client_for(leo).get("/api/v1/generations/").json()["results"] == []
    assert client_for(stranger).get("/api/v1/feed/").json()["results"] == []
    assert client_for(leo).delete(url(draft)).status_code == 404  # once
    draft.refresh_from_db()  # the row stays as the cameo owner's record (test_appearance_apis)
    assert (draft.deleted_at is not None, draft.published_at, draft.video.name) == (True, None, "")


def test_deleting_a_job_in_flight_stops_it(client_for, leo, cameo):
    job = GenerationFactory(requester=leo, cameos=[cameo], status=GenerationStatus.RUNNING)
    assert client_for(leo).delete(url(job)).status_code == 204
    job.refresh_from_db()
    assert (job.status, job.failure_reason) == ("canceled", "deleted_by_requester")


def test_a_deleted_videos_idempotency_key_can_be_used_again(client_for, leo, draft):
    Generation.objects.filter(pk=draft.pk).update(idempotency_key="retry-1")
    client_for(leo).delete(url(draft))
    draft.refresh_from_db()
    assert draft.idempotency_key == ""


def test_others_cannot_delete_it(client_for, maya, stranger, draft):
    for user in (maya, stranger):
        assert client_for(user).delete(url(draft)).status_code == 404
    assert Generation.objects.get(pk=draft.pk).deleted_at is None


@pytest.mark.parametrize(
    ("method", "action"),
    [("get", ""), ("delete", ""), ("post", "cancel"), ("post", "publish"), ("delete", "publish")],
)
def test_anonymous_is_refused_on_every_generation_endpoint(api_client, draft, method, action):
    response = getattr(api_client, method)(url(draft, action))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
