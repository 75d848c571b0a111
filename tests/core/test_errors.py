"""Every 4xx answers `{code, message, extra}` with a stable code."""

import pytest

pytestmark = pytest.mark.django_db


def test_validation_error_has_shape_and_field_details(api_client):
    response = api_client.post("/api/v1/auth/signup/", {"username": "x", "email": "nope"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["message"]
    fields = body["extra"]["fields"]
    assert {"username", "email", "password", "birth_date"} <= set(fields)
    assert fields["email"][0]["code"] == "invalid"
    assert fields["password"][0]["code"] == "required"


def test_malformed_json_is_a_parse_error(api_client):
    response = api_client.generic(
        "POST", "/api/v1/auth/signup/", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_unauthenticated_is_401_with_code(api_client):
    response = api_client.get("/api/v1/users/me/")

    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "message": "Authentication credentials were not provided.",
        "extra": {},
    }


def test_garbage_token_is_401_token_not_valid(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")

    response = api_client.get("/api/v1/users/me/")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_unknown_user_is_404_with_code(client_for, user):
    response = client_for(user).get("/api/v1/users/nobody_here/")

    assert response.status_code == 404
    assert response.json()["code"] == "user_not_found"


def test_unknown_api_path_is_404_in_error_shape(api_client):
    response = api_client.get("/api/v1/does-not-exist/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_wrong_method_is_405(client_for, user, other_user):
    response = client_for(user).patch(f"/api/v1/users/{other_user.username}/", {"bio": "hacked"})

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_session_login_without_csrf_is_403(make_user):
    from rest_framework.test import APIClient

    make_user(username="webby")
    client = APIClient(enforce_csrf_checks=True)

    response = client.post("/api/v1/auth/session/login/", {"username": "webby", "password": "x"})

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "CSRF" in response.json()["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/generations/1%0A/",  # a segment ending in a newline: Django listed the URL patterns
        "/api/v1/cameos/%0A/appearances/",
        "/api/v1/nothing-here%0A",
        "/api/v1/%0A",
        "/api/v2/generations/",
        "/api/",
    ],
)
def test_unknown_api_paths_answer_the_json_error_in_debug_too(client, settings, path):
    settings.DEBUG = True

    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"code": "not_found", "message": "Not found.", "extra": {}}


def test_a_browser_outside_the_api_gets_the_not_found_page(client):
    page = client.get("/no-such-page/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    api = client.get("/api/v1/no-such-route/", HTTP_ACCEPT="text/html")

    assert page.status_code == api.status_code == 404
    assert page["Content-Type"].startswith("text/html") and b"Not found" in page.content
    assert api.json() == {"code": "not_found", "message": "Not found.", "extra": {}}
