"""Usernames and character handles are one namespace: an @mention has one meaning, whichever was first,
whatever the case, and a race between a sign-up and a character creation is settled by a unique index."""

import io

import pytest
from django.db import IntegrityError, transaction
from PIL import Image
from skimage import data as skimage_data

from accounts.models import Handle
from cameos.services import character_create
from core.exceptions import ApplicationError

pytestmark = pytest.mark.django_db

SIGNUP = {"email": "new@example.com", "password": "a-long-unusual-passphrase", "birth_date": "1995-04-12"}


def cat_png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(skimage_data.chelsea()).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_username_cannot_take_a_character_handle_whatever_the_case(api_client, user):
    character_create(owner=user, handle="Rex", display_name="Rex", image=cat_png())

    response = api_client.post("/api/v1/auth/signup/", {**SIGNUP, "username": "rEX"})

    assert response.status_code == 409
    assert response.json()["code"] == "username_taken"


def test_a_character_handle_cannot_take_a_username_whatever_the_case(api_client, user):
    assert api_client.post("/api/v1/auth/signup/", {**SIGNUP, "username": "Nova"}).status_code == 201

    with pytest.raises(ApplicationError) as refused:
        character_create(owner=user, handle="NOVA", display_name="Nova", image=cat_png())

    assert refused.value.code == "handle_taken"


def test_both_services_claim_the_name_so_the_index_settles_a_race(api_client, user):
    api_client.post("/api/v1/auth/signup/", {**SIGNUP, "username": "Nova"})
    character_create(owner=user, handle="Rex", display_name="Rex", image=cat_png())

    assert sorted(Handle.objects.values_list("name", flat=True)) == ["Nova", "Rex"]
    # What a concurrent sign-up or character creation that passed its check too would insert:
    for taken in ("nova", "REX"):
        with pytest.raises(IntegrityError), transaction.atomic():
            Handle.objects.create(name=taken)
