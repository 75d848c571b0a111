"""Rate limits on the expensive and brute-forceable operations (issue #11, item 9). Before, generation,
provenance checks, character uploads, realtime pings and the admin login had none, and login, sign-up and
password change shared one `auth` budget. Each test sets a tiny rate for its own scope only."""

import io

import pytest
from PIL import Image
from rest_framework.throttling import ScopedRateThrottle

from tests.factories import CameoFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-unusual-passphrase"


@pytest.fixture
def rate(monkeypatch):
    def set_rate(scope: str, value: str) -> None:
        monkeypatch.setattr(
            ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES, scope: value}
        )

    return set_rate


def assert_throttled(response) -> None:
    assert response.status_code == 429, (response.status_code, response.content[:200])
    body = response.json()
    assert body["code"] == "throttled"
    assert body["extra"]["retry_after_seconds"] > 0
    assert int(response["Retry-After"]) > 0


def image_file(width: int, height: int) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 80, 40)).save(buffer, format="PNG")
    buffer.seek(0)
    buffer.name = "pet.png"
    return buffer


def test_generation_create_is_throttled_per_user_and_listing_is_not(client_for, user, other_user, rate):
    rate("generation_create", "2/min")
    client = client_for(user)

    for _ in range(2):
        assert client.post("/api/v1/generations/", {"prompt": ""}).status_code != 429
    assert_throttled(client.post("/api/v1/generations/", {"prompt": ""}))
    assert client.get("/api/v1/generations/").status_code == 200
    assert client_for(other_user).post("/api/v1/generations/", {"prompt": ""}).status_code != 429


def test_provenance_check_is_throttled(client_for, user, rate):
    rate("provenance_check", "1/min")
    client = client_for(user)

    assert client.post("/api/v1/provenance/check/", {}, format="multipart").status_code == 400
    assert_throttled(client.post("/api/v1/provenance/check/", {}, format="multipart"))


def test_character_uploads_are_throttled(client_for, user, rate):
    rate("character_upload", "1/min")
    client = client_for(user)

    first = client.post("/api/v1/cameos/characters/", {"handle": "rex"}, format="multipart")
    assert first.status_code == 400
    assert_throttled(client.post("/api/v1/cameos/characters/", {"handle": "rex"}, format="multipart"))


def test_characters_per_account_are_capped(client_for, user, settings):
    settings.CAMEO_MAX_CHARACTERS_PER_OWNER = 1
    CameoFactory(owner=user, kind="character", handle="rex")
    CameoFactory(owner=user, kind="character", handle="old", status="rejected")  # deleted ones do not count

    response = client_for(user).post(
        "/api/v1/cameos/characters/", {"handle": "fido", "image": image_file(200, 200)}, format="multipart"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "too_many_characters"


def test_a_40_megapixel_character_image_is_refused_before_decoding(client_for, user):
    """Before: anything under 40 MP was decoded in the web process (120 MB of RGB for this one)."""
    response = client_for(user).post(
        "/api/v1/cameos/characters/", {"handle": "huge", "image": image_file(6500, 6000)}, format="multipart"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "media_bad_dimensions"
    assert "6500x6000" in response.json()["message"]


def test_the_pixel_cap_is_a_setting(client_for, user, settings):
    settings.CAMEO_CHARACTER_MAX_PIXELS = 200 * 200
    client = client_for(user)

    over = client.post(
        "/api/v1/cameos/characters/", {"handle": "wide", "image": image_file(201, 200)}, format="multipart"
    )
    at = client.post(
        "/api/v1/cameos/characters/", {"handle": "square", "image": image_file(200, 200)}, format="multipart"
    )

    assert over.json()["code"] == "media_bad_dimensions"
    assert at.status_code == 202


def test_realtime_ping_is_throttled(client_for, user, rate):
    rate("realtime_ping", "2/min")
    client = client_for(user)

    assert [client.post("/api/v1/realtime/ping/").status_code for _ in range(2)] == [202, 202]
    assert_throttled(client.post("/api/v1/realtime/ping/"))


def test_admin_login_attempts_are_throttled_per_address(client, rate):
    rate("admin_login", "2/min")
    UserFactory(username="root", is_staff=True, is_superuser=True)

    attempts = [
        client.post("/admin/login/", {"username": "root", "password": "guess"}).status_code for _ in range(2)
    ]
    throttled = client.post("/admin/login/", {"username": "root", "password": "guess"})

    assert attempts == [200, 200]  # the form again, with its error
    assert_throttled(throttled)
    assert client.get("/admin/login/").status_code == 200  # showing the form is not an attempt


def test_login_has_its_own_scope(api_client, user, rate):
    rate("login", "1/min")
    login = {"username": "maya", "password": "wrong"}

    assert api_client.post("/api/v1/auth/token/", login).status_code == 401
    assert_throttled(api_client.post("/api/v1/auth/token/", login))
    assert_throttled(api_client.post("/api/v1/auth/session/login/", login))
    # sign-up and token refresh keep their own budgets
    assert api_client.post("/api/v1/auth/signup/", {}).status_code == 400
    assert api_client.post("/api/v1/auth/token/refresh/", {"refresh": "x"}).status_code == 401


def test_signup_has_its_own_scope(api_client, user, rate):
    rate("signup", "1/min")

    assert api_client.post("/api/v1/auth/signup/", {}).status_code == 400
    assert_throttled(api_client.post("/api/v1/auth/signup/", {}))
    assert (
        api_client.post("/api/v1/auth/token/", {"username": "maya", "password": "wrong"}).status_code == 401
    )


def test_password_change_has_its_own_scope(client_for, api_client, user, rate):
    rate("password", "1/min")
    client = client_for(user)
    change = {"old_password": "wrong", "new_password": "another-long-passphrase"}

    assert client.post("/api/v1/auth/password/", change).status_code == 400
    assert_throttled(client.post("/api/v1/auth/password/", change))
    assert (
        api_client.post("/api/v1/auth/token/", {"username": "maya", "password": "wrong"}).status_code == 401
    )


def test_throttled_operations_document_their_rate():
    from tests.openapi_validation import openapi_schema

    paths = openapi_schema()["paths"]
    for path, method, scope in [
        ("/api/v1/generations/", "post", "generation_create"),
        ("/api/v1/provenance/check/", "post", "provenance_check"),
        ("/api/v1/cameos/characters/", "post", "character_upload"),
        ("/api/v1/realtime/ping/", "post", "realtime_ping"),
        ("/api/v1/auth/token/", "post", "login"),
        ("/api/v1/auth/session/login/", "post", "login"),
        ("/api/v1/auth/signup/", "post", "signup"),
        ("/api/v1/auth/password/", "post", "password"),
    ]:
        assert f"(scope `{scope}`)" in paths[path][method]["description"], (path, method)
    assert "Rate limit" not in paths["/api/v1/generations/"]["get"].get("description", "")
