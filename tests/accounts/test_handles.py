"""Usernames and character handles are one namespace: an @mention has one meaning, whichever was first,
whatever the case, and a race between a sign-up and a character creation is settled by a unique index."""

import io
import threading
from datetime import date

import pytest
from django.db import IntegrityError, connection, connections, transaction
from PIL import Image
from skimage import data as skimage_data

from accounts.models import Handle
from accounts.services import user_create
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


@pytest.mark.django_db(transaction=True)
def test_a_sign_up_and_a_character_racing_for_one_name_cannot_both_win(user):
    """PostgreSQL, READ COMMITTED: a sign-up that has not committed yet is invisible to the character's
    check, so only the shared unique index can stop the second name."""
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL); SQLite serialises whole transactions")
    image = cat_png()
    signed_up, character_done = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def sign_up() -> None:
        try:
            with transaction.atomic():
                user_create(
                    username="Rex",
                    email="rex@example.com",
                    password=SIGNUP["password"],
                    birth_date=date(1995, 4, 12),
                )
                signed_up.set()
                character_done.wait(timeout=2)  # still uncommitted while the character tries
            outcome["user"] = "created"
        finally:
            connections.close_all()

    def make_character() -> None:
        signed_up.wait(timeout=10)
        try:
            character_create(owner=user, handle="rex", display_name="Rex", image=image)
            outcome["character"] = "created"
        except ApplicationError as exc:
            outcome["character"] = exc.code
        finally:
            character_done.set()
            connections.close_all()

    threads = [threading.Thread(target=sign_up), threading.Thread(target=make_character)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcome == {"user": "created", "character": "handle_taken"}
    assert Handle.objects.filter(name__iexact="rex").count() == 1
