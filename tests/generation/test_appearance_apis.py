"""Appearances: the owner sees every generation that used their cameo, drafts by others included, and those
deleted since by their requester, and can take any of them down."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from cameos import services as cameo_services
from generation.models import Generation
from generation.selectors import generation_consent_refusals, generation_is_publishable
from tests.factories import CameoFactory, GenerationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cameo(user):
    return CameoFactory(owner=user, permission="everyone")


def test_owner_sees_every_generation_using_the_cameo(client_for, user, other_user, cameo):
    by_other = GenerationFactory(requester=other_user, status="running", cameos=[cameo])
    by_owner = GenerationFactory(requester=user, cameos=[cameo])
    GenerationFactory(requester=other_user)  # uses no cameo of hers

    body = client_for(user).get(f"/api/v1/cameos/{cameo.pk}/appearances/").json()

    assert [(item["id"], item["requester"]) for item in body["results"]] == [
        (by_owner.pk, "maya"),
        (by_other.pk, "leo"),
    ]


def test_others_and_anonymous_cannot_list(client_for, api_client, other_user, cameo):
    assert client_for(other_user).get(f"/api/v1/cameos/{cameo.pk}/appearances/").status_code == 404
    assert api_client.get(f"/api/v1/cameos/{cameo.pk}/appearances/").status_code == 401


def test_the_appearance_survives_the_requesters_delete(
    client_for, user, other_user, cameo, django_capture_on_commit_callbacks
):
    """Today the requester downloads the video, DELETEs it, and the GenerationCameo row cascades away: the
    owner never sees that it existed."""
    video = default_storage.save("generations/v.mp4", ContentFile(b"video"))
    draft = GenerationFactory(requester=other_user, cameos=[cameo], video=video, prompt="@maya juggles")

    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(other_user).delete(f"/api/v1/generations/{draft.pk}/").status_code == 204

    [item] = client_for(user).get(f"/api/v1/cameos/{cameo.pk}/appearances/").json()["results"]
    assert (item["id"], item["requester"], item["prompt"]) == (draft.pk, "leo", "@maya juggles")
    assert item["deleted_at"] is not None and item["created_at"] is not None
    assert not default_storage.exists(video)  # the media went; the record stayed


def test_the_owner_lists_appearances_of_all_her_cameos_even_deleted_ones(
    client_for, user, other_user, cameo, django_capture_on_commit_callbacks
):
    character = CameoFactory(owner=user, kind="character", handle="rex", permission="everyone")
    both = GenerationFactory(requester=other_user, cameos=[cameo, character])
    with_rex = GenerationFactory(requester=other_user, cameos=[character])
    GenerationFactory(requester=user)  # no cameo of hers
    with django_capture_on_commit_callbacks(execute=True):  # deleted, and erased by the job on commit
        cameo_services.cameo_delete(cameo=cameo)

    listed = client_for(user).get("/api/v1/cameos/appearances/").json()["results"]

    assert [item["id"] for item in listed] == [with_rex.pk, both.pk]  # once each, newest first


def test_everyone_lists_only_their_own_appearances(client_for, api_client, other_user, cameo):
    GenerationFactory(requester=other_user, cameos=[cameo])

    assert client_for(other_user).get("/api/v1/cameos/appearances/").json()["results"] == []
    assert api_client.get("/api/v1/cameos/appearances/").status_code == 401


def test_owner_takes_down_someone_elses_draft(
    client_for, user, other_user, cameo, django_capture_on_commit_callbacks
):
    video = default_storage.save("generations/v.mp4", ContentFile(b"video"))
    draft = GenerationFactory(requester=other_user, cameos=[cameo], video=video)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).delete(f"/api/v1/cameos/appearances/{draft.pk}/")

    assert response.status_code == 204
    draft.refresh_from_db()
    assert draft.removed_reason == "removed_by_cameo_owner"
    assert not default_storage.exists(video)
    assert not generation_is_publishable(generation=draft)
    [item] = client_for(user).get(f"/api/v1/cameos/{cameo.pk}/appearances/").json()["results"]
    assert item["removed_reason"] == "removed_by_cameo_owner"


def test_taking_down_an_in_flight_job_cancels_it(client_for, user, other_user, cameo):
    job = GenerationFactory(requester=other_user, status="running", cameos=[cameo])

    client_for(user).delete(f"/api/v1/cameos/appearances/{job.pk}/")

    job.refresh_from_db()
    assert job.status == "canceled"


def test_the_requester_or_a_stranger_cannot_take_down_via_appearances(client_for, other_user, cameo):
    draft = GenerationFactory(requester=other_user, cameos=[cameo])
    stranger = UserFactory(username="stranger")

    assert client_for(other_user).delete(f"/api/v1/cameos/appearances/{draft.pk}/").status_code == 404
    assert client_for(stranger).delete(f"/api/v1/cameos/appearances/{draft.pk}/").status_code == 404
    assert Generation.objects.get(pk=draft.pk).removed_at is None


def test_anonymous_cannot_take_down(api_client, other_user, cameo):
    draft = GenerationFactory(requester=other_user, cameos=[cameo])

    assert api_client.delete(f"/api/v1/cameos/appearances/{draft.pk}/").status_code == 401
    assert Generation.objects.get(pk=draft.pk).removed_at is None


def test_revoking_permission_makes_drafts_unpublishable(other_user, cameo):
    draft = GenerationFactory(requester=other_user, cameos=[cameo])
    assert generation_is_publishable(generation=draft)

    cameo_services.cameo_update_settings(cameo=cameo, permission="only_me")

    assert [refusal.code for refusal in generation_consent_refusals(generation=draft)] == [
        "cameo_permission_denied"
    ]
    assert not generation_is_publishable(generation=draft)
