"""Strict inputs: a field the endpoint does not take, a key given twice, or JSON nested past what the
parser can hold are 400s in the error shape, never silently ignored and never a 500."""

import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from core.serializers import StrictInputMixin

pytestmark = pytest.mark.django_db

SIGNUP = {
    "username": "newbie",
    "email": "newbie@example.com",
    "password": "a-long-passphrase-1",
    "birth_date": "1990-01-01",
}


def test_an_unknown_field_is_refused_and_named(api_client):
    response = api_client.post("/api/v1/auth/signup/", {**SIGNUP, "is_staff": True, "nickname": "x"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["extra"]["fields"]["is_staff"][0]["code"] == "unknown_field"
    assert body["extra"]["fields"]["nickname"][0]["code"] == "unknown_field"
    assert "is_staff" in body["message"]


def test_an_unknown_field_is_refused_on_a_partial_update(client_for, user):
    response = client_for(user).patch("/api/v1/users/me/", {"bio": "hi", "biography": "typo"})

    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {"biography"}


def test_an_unknown_field_is_refused_at_login(api_client, user):
    response = api_client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": "x", "remember_me": True}
    )

    assert response.status_code == 400
    assert response.json()["extra"]["fields"]["remember_me"][0]["code"] == "unknown_field"


def test_a_known_body_is_still_accepted(api_client):
    assert api_client.post("/api/v1/auth/signup/", SIGNUP).status_code == 201


def test_a_duplicate_key_is_refused(api_client):
    body = json.dumps(SIGNUP)[:-1] + ', "username": "someone_else"}'

    response = api_client.generic("POST", "/api/v1/auth/signup/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert response.json()["extra"]["fields"]["username"][0]["code"] == "duplicate_key"


def test_a_duplicate_key_in_a_nested_object_is_refused(client_for, user):
    response = client_for(user).generic(
        "PATCH", "/api/v1/users/me/", '{"bio": {"a": 1, "a": 2}}', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["extra"]["fields"]["a"][0]["code"] == "duplicate_key"


def test_json_nested_too_deeply_is_a_parse_error(api_client):
    response = api_client.generic(
        "POST", "/api/v1/auth/signup/", "[" * 100_000 + "]" * 100_000, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def _views(resolver: URLResolver):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _views(pattern)
        elif isinstance(pattern, URLPattern):
            yield getattr(pattern.callback, "view_class", None) or getattr(pattern.callback, "cls", None)


def test_every_input_serializer_is_strict():
    """A new API class cannot forget it: every `*InputSerializer` (and a generic view's serializer used to
    parse input) extends StrictInputMixin."""
    loose = []
    checked = 0
    for view in {
        v for v in _views(get_resolver()) if v is not None and v.__module__.split(".")[0] != "drf_spectacular"
    }:
        inputs = [getattr(view, name) for name in dir(view) if name.endswith("InputSerializer")]
        if view.__name__ in ("LoginApi", "RefreshApi"):
            inputs.append(view.serializer_class)
        for serializer in inputs:
            checked += 1
            if not issubclass(serializer, StrictInputMixin):
                loose.append(f"{view.__module__}.{view.__qualname__}.{serializer.__name__}")
    assert checked > 15
    assert loose == []
