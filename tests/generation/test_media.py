"""Signed links to a video are re-checked at every request with the one visibility rule: a signature only
proves the link was handed out once.

Today a link handed out before a block (or a take-down) keeps playing the video, and works for anyone who
holds it."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client, RequestFactory
from django.utils import timezone

from accounts.models import Block
from core.signed_media import signed_media_url
from generation.models import Generation
from tests.factories import CameoFactory, GenerationFactory, with_role

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
    generation.video = default_storage.save(
        f"generations/{generation.pk}/video.mp4", ContentFile(b"mp4-bytes")
    )
    generation.save()
    return generation


@pytest.fixture
def published(maya, leo):
    cameo = CameoFactory(owner=maya, permission="everyone")
    return with_media(GenerationFactory(requester=leo, cameos=[cameo], published_at=timezone.now()))


def video_url(client_for, user, generation) -> str:
    """The link `user` is handed: by the generation's detail if they made it or are in it, else by its
    post (how anyone else sees a published video)."""
    makers = {generation.requester_id, *generation.cameo_uses.values_list("owner_id", flat=True)}
    kind = "generations" if user.pk in makers else "posts"
    url = client_for(user).get(f"/api/v1/{kind}/{generation.pk}/").json()["video_url"]
    assert url is not None
    return url


def play(url: str):
    """What a video player does with the link: a plain GET, no credentials."""
    return Client().get(url)


@pytest.mark.parametrize("direction", ["owner_blocks", "viewer_blocks"])
def test_a_link_stops_playing_after_a_block_with_a_cameo_owner(
    client_for, maya, viewer, published, direction
):
    url = video_url(client_for, viewer, published)
    response = play(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"mp4-bytes"

    Block.objects.create(
        **(
            {"blocker": maya, "blocked": viewer}
            if direction == "owner_blocks"
            else {"blocker": viewer, "blocked": maya}
        )
    )

    response = play(url)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_a_link_stops_playing_once_the_video_is_taken_down(client_for, maya, viewer, published):
    url = video_url(client_for, viewer, published)
    client_for(maya).delete(f"/api/v1/cameos/appearances/{published.pk}/")  # the file stays until commit

    assert default_storage.exists(published.video.name)
    assert play(url).status_code == 404


def test_a_link_to_a_draft_works_only_for_the_viewer_it_was_handed_to(client_for, maya, leo, viewer):
    cameo = CameoFactory(owner=maya, permission="everyone")
    draft = with_media(GenerationFactory(requester=leo, cameos=[cameo]))
    url = video_url(client_for, leo, draft)
    assert play(url).status_code == 200

    Generation.objects.filter(pk=draft.pk).update(requester=viewer)  # the draft is no longer leo's

    assert play(url).status_code == 404


def test_the_owner_and_the_requester_of_a_draft_can_play_it(client_for, maya, leo):
    cameo = CameoFactory(owner=maya, permission="everyone")
    draft = with_media(GenerationFactory(requester=leo, cameos=[cameo]))

    assert play(video_url(client_for, maya, draft)).status_code == 200
    assert play(video_url(client_for, leo, draft)).status_code == 200


def test_a_tampered_link_is_refused(client_for, viewer, published):
    url = video_url(client_for, viewer, published)
    response = play(url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"))
    assert response.status_code == 403
    assert response.json()["code"] == "media_link_invalid"


def _link_for(user, generation) -> str:
    return signed_media_url(generation.video.name, 300, request=RequestFactory().get("/"), viewer_id=user.pk)


@pytest.mark.parametrize("state", ["held", "draft", "hidden_by_a_block"])
def test_a_moderator_plays_what_a_case_is_about_and_staff_do_not(maya, leo, make_user, state):
    """The console hands a moderator a link to the video a case is about, whatever hides it from others."""
    moderator = with_role(make_user(username="mod"), "moderator")
    staff = make_user(username="staff", is_staff=True)
    cameo = CameoFactory(owner=maya, permission="everyone")
    video = with_media(
        GenerationFactory(
            requester=leo,
            cameos=[cameo],
            status="needs_review" if state == "held" else "succeeded",
            published_at=timezone.now() if state == "hidden_by_a_block" else None,
        )
    )
    if state == "hidden_by_a_block":
        Block.objects.create(blocker=leo, blocked=moderator)
        Block.objects.create(blocker=leo, blocked=staff)

    assert play(_link_for(moderator, video)).status_code == 200
    assert play(_link_for(staff, video)).status_code == 404
    moderator.groups.clear()
    assert play(_link_for(moderator, video)).status_code == 404


def test_a_moderator_cannot_play_a_taken_down_or_deleted_video(maya, leo, make_user):
    moderator = with_role(make_user(username="mod"), "moderator")
    video = with_media(GenerationFactory(requester=leo, published_at=timezone.now()))
    url = _link_for(moderator, video)
    assert play(url).status_code == 200

    Generation.objects.filter(pk=video.pk).update(removed_at=timezone.now())
    assert play(url).status_code == 404
    Generation.objects.filter(pk=video.pk).update(removed_at=None, deleted_at=timezone.now())
    assert play(url).status_code == 404
