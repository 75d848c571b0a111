"""Revocation reaches videos that already exist: every way a requester loses the right to use a cameo
(permission narrowed, approval removed or denied, a block either way, an unfollow ending "mutuals", the
cameo deleted, the owner's account deleted) takes down their videos with it. Drafts become unplayable and
unpublishable, published videos leave every feed, both people are told, and the owner keeps the record.

Today, each of these triggers leaves the requester's draft playable and their published video up."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import Follow
from cameos.models import CameoAccessRequest
from generation.models import Generation, GenerationCameo, GenerationStatus
from tests.factories import PASSWORD, CameoFactory, GenerationFactory
from tests.fixtures.realtime import SocketListener

pytestmark = pytest.mark.django_db


@pytest.fixture
def maya(make_user):
    return make_user(username="maya")


@pytest.fixture
def leo(make_user):
    return make_user(username="leo")


@pytest.fixture
def viewer(make_user):
    return make_user(username="viewer")


def with_media(generation: Generation) -> Generation:
    folder = f"generations/{generation.requester_id}/{generation.pk}"
    generation.video = default_storage.save(f"{folder}/video.mp4", ContentFile(b"mp4"))
    generation.poster = default_storage.save(f"{folder}/poster.jpg", ContentFile(b"jpg"))
    generation.save()
    return generation


class Videos:
    """The requester's published video, draft and job in flight, all with the owner's cameo."""

    def __init__(self, requester, cameo):
        self.published = with_media(
            GenerationFactory(requester=requester, cameos=[cameo], published_at=timezone.now())
        )
        self.draft = with_media(GenerationFactory(requester=requester, cameos=[cameo]))
        self.running = GenerationFactory(requester=requester, cameos=[cameo], status=GenerationStatus.RUNNING)
        self.all = [self.published, self.draft, self.running]
        self.files = [name for g in (self.published, self.draft) for name in (g.video.name, g.poster.name)]
        self.ids = sorted(g.pk for g in self.all)


def detail(generation, action=""):
    return f"/api/v1/generations/{generation.pk}/" + (f"{action}/" if action else "")


def feed_ids(client):
    return [item["id"] for item in client.get("/api/v1/feed/").json()["results"]]


def assert_up(client_for, videos, *, requester, viewer):
    assert feed_ids(client_for(viewer)) == [videos.published.pk]
    assert client_for(requester).get(detail(videos.draft)).json()["video_url"] is not None


def assert_withdrawn(client_for, videos, *, requester, viewer, requester_events):
    # out of every feed and share page (the detail is what a share page shows)
    assert videos.published.pk not in feed_ids(client_for(viewer))
    assert client_for(viewer).get(detail(videos.published)).status_code == 404
    # unplayable and unpublishable for the requester, who sees why
    for video in (videos.published, videos.draft):
        body = client_for(requester).get(detail(video)).json()
        assert (body["removed_reason"], body["video_url"], body["published_at"]) == (
            "consent_withdrawn",
            None,
            None,
        )
        assert client_for(requester).post(detail(video, "publish")).json()["code"] == "generation_removed"
    assert not any(default_storage.exists(name) for name in videos.files)
    videos.running.refresh_from_db()
    assert (videos.running.status, videos.running.failure_reason) == ("canceled", "consent_withdrawn")
    removed = [data for kind, data in requester_events.types() if kind == "generation.removed"]
    assert sorted(data["generation_id"] for data in removed) == videos.ids
    assert {data["reason"] for data in removed} == {"consent_withdrawn"}


def assert_owner_told_and_kept(client_for, videos, *, owner, cameo, owner_events):
    told = [data["generation_id"] for kind, data in owner_events.types() if kind == "appearance.removed"]
    assert sorted(told) == videos.ids
    listed = client_for(owner).get(f"/api/v1/cameos/{cameo.pk}/appearances/").json()["results"]
    assert sorted(item["id"] for item in listed) == videos.ids
    assert {item["removed_reason"] for item in listed} == {"consent_withdrawn"}


@pytest.fixture
def listen(maya, leo):
    return SocketListener(maya.pk), SocketListener(leo.pk)


def test_permission_narrowed(client_for, maya, leo, viewer, listen, django_capture_on_commit_callbacks):
    cameo = CameoFactory(owner=maya, permission="everyone")
    videos = Videos(leo, cameo)
    assert_up(client_for, videos, requester=leo, viewer=viewer)
    owner_events, requester_events = listen

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(maya).patch(f"/api/v1/cameos/{cameo.pk}/", {"permission": "only_me"})
    assert response.status_code == 200

    assert_withdrawn(client_for, videos, requester=leo, viewer=viewer, requester_events=requester_events)
    assert_owner_told_and_kept(client_for, videos, owner=maya, cameo=cameo, owner_events=owner_events)


@pytest.fixture
def approved(maya, leo):
    cameo = CameoFactory(owner=maya, permission="approved")
    grant = CameoAccessRequest.objects.create(cameo=cameo, requester=leo, status="approved")
    return cameo, grant


def test_access_removed(client_for, maya, leo, viewer, approved, listen, django_capture_on_commit_callbacks):
    cameo, grant = approved
    videos = Videos(leo, cameo)
    assert_up(client_for, videos, requester=leo, viewer=viewer)
    owner_events, requester_events = listen

    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(maya).delete(f"/api/v1/cameos/access-requests/{grant.pk}/").status_code == 204

    assert_withdrawn(client_for, videos, requester=leo, viewer=viewer, requester_events=requester_events)
    assert_owner_told_and_kept(client_for, videos, owner=maya, cameo=cameo, owner_events=owner_events)


def test_an_approval_turned_into_a_denial(
    client_for, maya, leo, viewer, approved, listen, django_capture_on_commit_callbacks
):
    cameo, grant = approved
    videos = Videos(leo, cameo)
    owner_events, requester_events = listen

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(maya).post(f"/api/v1/cameos/access-requests/{grant.pk}/deny/")
    assert response.status_code == 200

    assert_withdrawn(client_for, videos, requester=leo, viewer=viewer, requester_events=requester_events)
    assert_owner_told_and_kept(client_for, videos, owner=maya, cameo=cameo, owner_events=owner_events)


@pytest.mark.parametrize("who_blocks", ["owner", "requester"])
def test_block(client_for, maya, leo, viewer, listen, who_blocks, django_capture_on_commit_callbacks):
    cameo = CameoFactory(owner=maya, permission="everyone")
    videos = Videos(leo, cameo)
    assert_up(client_for, videos, requester=leo, viewer=viewer)
    owner_events, requester_events = listen
    blocker, blocked = (maya, leo) if who_blocks == "owner" else (leo, maya)

    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(blocker).post(f"/api/v1/users/{blocked.username}/block/").status_code == 204

    assert_withdrawn(client_for, videos, requester=leo, viewer=viewer, requester_events=requester_events)
    assert_owner_told_and_kept(client_for, videos, owner=maya, cameo=cameo, owner_events=owner_events)


def test_a_block_also_withdraws_the_blockers_videos_of_the_blocked_persons_cameo(
    client_for, maya, leo, django_capture_on_commit_callbacks
):
    leos_cameo = CameoFactory(owner=leo, permission="everyone")
    by_maya = with_media(GenerationFactory(requester=maya, cameos=[leos_cameo], published_at=timezone.now()))

    with django_capture_on_commit_callbacks(execute=True):
        client_for(maya).post("/api/v1/users/leo/block/")

    by_maya.refresh_from_db()
    assert (by_maya.removed_reason, by_maya.published_at) == ("consent_withdrawn", None)


def test_an_unfollow_that_ends_mutuals(
    client_for, maya, leo, viewer, listen, django_capture_on_commit_callbacks
):
    cameo = CameoFactory(owner=maya, permission="mutuals")
    Follow.objects.create(follower=maya, followee=leo)
    Follow.objects.create(follower=leo, followee=maya)
    videos = Videos(leo, cameo)
    assert_up(client_for, videos, requester=leo, viewer=viewer)
    owner_events, requester_events = listen

    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(maya).delete("/api/v1/users/leo/follow/").status_code == 204

    assert_withdrawn(client_for, videos, requester=leo, viewer=viewer, requester_events=requester_events)
    assert_owner_told_and_kept(client_for, videos, owner=maya, cameo=cameo, owner_events=owner_events)


def test_cameo_deleted(client_for, maya, leo, viewer, listen, django_capture_on_commit_callbacks):
    cameo = CameoFactory(owner=maya, permission="everyone")
    videos = Videos(leo, cameo)
    own = with_media(GenerationFactory(requester=maya, cameos=[cameo], published_at=timezone.now()))
    owner_events, requester_events = listen

    with django_capture_on_commit_callbacks(execute=True):  # the erasure job runs on commit, too
        assert client_for(maya).delete(f"/api/v1/cameos/{cameo.pk}/").status_code == 202

    assert_withdrawn(client_for, videos, requester=leo, viewer=viewer, requester_events=requester_events)
    told = [data["generation_id"] for kind, data in owner_events.types() if kind == "appearance.removed"]
    assert sorted(told) == videos.ids
    own.refresh_from_db()
    assert own.removed_reason == "consent_withdrawn"  # her own videos with it go too: the likeness is gone
    # the record of each appearance stays with her, without the erased cameo
    listed = client_for(maya).get("/api/v1/cameos/appearances/").json()["results"]
    assert sorted(item["id"] for item in listed) == sorted([*videos.ids, own.pk])
    assert {item["removed_reason"] for item in listed} == {"consent_withdrawn"}


def test_account_deleted(client_for, maya, leo, viewer, listen, django_capture_on_commit_callbacks):
    cameo = CameoFactory(owner=maya, permission="everyone")
    videos = Videos(leo, cameo)
    assert_up(client_for, videos, requester=leo, viewer=viewer)
    _, requester_events = listen

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(maya).post("/api/v1/users/me/delete/", {"password": PASSWORD})
    assert response.status_code == 202

    assert_withdrawn(client_for, videos, requester=leo, viewer=viewer, requester_events=requester_events)
    assert GenerationCameo.objects.filter(owner=maya).count() == len(videos.ids)


def test_a_change_that_keeps_the_requesters_right_takes_nothing_down(
    client_for, maya, leo, viewer, approved, listen, django_capture_on_commit_callbacks
):
    cameo, _ = approved
    cameo.permission = "everyone"
    cameo.save()
    videos = Videos(leo, cameo)
    _, requester_events = listen

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(maya).patch(f"/api/v1/cameos/{cameo.pk}/", {"permission": "approved"})
    assert response.status_code == 200  # narrower, but leo is approved

    assert_up(client_for, videos, requester=leo, viewer=viewer)
    assert Generation.objects.filter(removed_at__isnull=False).count() == 0
    assert requester_events.types(0.2) == []


def test_narrowing_to_only_me_leaves_the_owners_own_videos(
    client_for, maya, django_capture_on_commit_callbacks
):
    cameo = CameoFactory(owner=maya, permission="everyone")
    own = with_media(GenerationFactory(requester=maya, cameos=[cameo], published_at=timezone.now()))

    with django_capture_on_commit_callbacks(execute=True):
        client_for(maya).patch(f"/api/v1/cameos/{cameo.pk}/", {"permission": "only_me"})

    own.refresh_from_db()
    assert own.removed_at is None and own.published_at is not None
    assert default_storage.exists(own.video.name)


def test_a_block_reaches_only_the_two_people(client_for, maya, leo, viewer, make_user):
    cameo = CameoFactory(owner=maya, permission="everyone")
    carol = make_user(username="carol")
    carols = with_media(GenerationFactory(requester=carol, cameos=[cameo], published_at=timezone.now()))

    client_for(maya).post("/api/v1/users/leo/block/")

    carols.refresh_from_db()
    assert carols.removed_at is None
    assert feed_ids(client_for(viewer)) == [carols.pk]
