"""Character cameos: made from one image, no liveness, the same permission model; a human face in the
image sends it to review rather than into use."""

import io

import pytest
from PIL import Image
from skimage import data as skimage_data

from cameos.models import Cameo
from cameos.selectors import cameo_get_by_mention
from moderation.models import Case
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def png(array) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "my pet.png"
    return buffer


def create(client, handle, image, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(
            "/api/v1/cameos/characters/",
            {"handle": handle, "display_name": "Chelsea", "image": image},
            format="multipart",
        )


def test_a_pet_becomes_a_usable_character(client_for, user, django_capture_on_commit_callbacks):
    response = create(
        client_for(user), "chelsea_cat", png(skimage_data.chelsea()), django_capture_on_commit_callbacks
    )

    assert response.status_code == 202
    cameo = Cameo.objects.get(pk=response.json()["id"])
    assert (cameo.kind, cameo.status) == ("character", "verified")
    assert response.json()["mention"] == "@chelsea_cat"
    assert cameo_get_by_mention(user=user, mention="@chelsea_cat") == cameo
    with pytest.raises(Exception, match="may not use"):
        cameo_get_by_mention(user=UserFactory(), mention="@chelsea_cat")  # only_me by default


def test_a_human_face_goes_to_review(client_for, user, django_capture_on_commit_callbacks):
    response = create(
        client_for(user), "space_guy", png(skimage_data.astronaut()), django_capture_on_commit_callbacks
    )

    cameo = Cameo.objects.get(pk=response.json()["id"])
    assert (cameo.status, cameo.rejection_reason) == ("needs_review", "character_shows_a_person")
    assert Case.objects.get(target_id=cameo.pk).flags.get().reason == "character_shows_a_person"
    # the owner is told why it is held and what happens next
    body = client_for(user).get(f"/api/v1/cameos/{cameo.pk}/").json()
    assert (body["status"], body["status_reason"], body["rejection_reason"]) == (
        "needs_review",
        "character_shows_a_person",
        "",
    )
    assert body["status_message"].startswith("Held for review: the image shows a human face")
    assert "moderator" in body["status_message"]


def test_a_handle_may_not_be_a_username(client_for, user, other_user, django_capture_on_commit_callbacks):
    response = create(
        client_for(user), "LEO", png(skimage_data.chelsea()), django_capture_on_commit_callbacks
    )

    assert response.status_code == 409
    assert response.json()["code"] == "handle_taken"


def test_not_an_image_is_refused(client_for, user, django_capture_on_commit_callbacks):
    fake = io.BytesIO(b"not an image at all")
    fake.name = "x.png"

    response = create(client_for(user), "fake", fake, django_capture_on_commit_callbacks)

    assert response.status_code == 400
    assert response.json()["code"] == "media_not_an_image"
    assert not Cameo.objects.exists()


def test_anonymous_is_401(api_client):
    assert api_client.post("/api/v1/cameos/characters/", {}, format="multipart").status_code == 401
