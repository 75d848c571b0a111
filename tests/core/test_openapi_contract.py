"""The schema is generated without warnings, and the shared response hook really checks responses."""

import json

import pytest
from django.core.management import call_command
from django.http import JsonResponse
from django.test import RequestFactory
from django.urls import resolve
from openapi_core.validation.response.exceptions import InvalidData

from tests.openapi_validation import assert_response_matches_schema

pytestmark = pytest.mark.django_db


def test_schema_generates_with_no_warnings(tmp_path):
    out = tmp_path / "schema.json"

    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out)
    )

    schema = json.loads(out.read_text())
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/auth/signup/" in schema["paths"]
    assert schema["components"]["schemas"]["Error"]["required"] == ["code", "message", "extra"]


def test_schema_and_docs_are_served(client):
    assert client.get("/api/v1/schema/").status_code == 200
    assert client.get("/api/v1/docs/").status_code == 200


def _response(path, body, status=200):
    request = RequestFactory().get(path)
    request.resolver_match = resolve(path)
    response = JsonResponse(body, status=status)
    response.wsgi_request = request
    return response


def test_hook_rejects_a_response_that_breaks_the_schema():
    with pytest.raises(InvalidData):
        assert_response_matches_schema(_response("/api/v1/users/maya/", {"username": 42}))


def test_hook_rejects_an_error_outside_the_error_shape():
    with pytest.raises(InvalidData):
        assert_response_matches_schema(_response("/api/v1/users/maya/", {"detail": "Not found."}, status=404))


def test_hook_accepts_a_conforming_response():
    body = {
        "id": 1,
        "username": "maya",
        "display_name": "Maya",
        "bio": "",
        "avatar_url": None,
        "followers_count": 0,
        "following_count": 0,
    }
    assert_response_matches_schema(_response("/api/v1/users/maya/", body))


ANONYMOUS_OPERATIONS = [
    ("post", "/api/v1/auth/signup/"),
    ("post", "/api/v1/auth/token/"),
    ("post", "/api/v1/auth/token/refresh/"),
    ("post", "/api/v1/auth/logout/"),
    ("get", "/api/v1/auth/csrf/"),
    ("post", "/api/v1/auth/session/login/"),
    ("post", "/api/v1/auth/email/verify/"),
]


@pytest.mark.parametrize(("method", "path"), ANONYMOUS_OPERATIONS)
def test_anonymous_operations_declare_no_security_requirement(method, path):
    """`security: []`: a generated client calls them without credentials (`[{}]` made generators demand an
    authenticated client for signing up)."""
    from tests.openapi_validation import openapi_schema

    assert openapi_schema()["paths"][path][method]["security"] == []


def test_every_other_operation_names_its_credentials():
    from tests.openapi_validation import openapi_schema

    for path, item in openapi_schema()["paths"].items():
        for method, operation in item.items():
            if (method, path) in ANONYMOUS_OPERATIONS or method not in {
                "get",
                "post",
                "patch",
                "put",
                "delete",
            }:
                continue
            schemes = {name for requirement in operation["security"] for name in requirement}
            assert schemes & {"bearerAuth", "cookieAuth"}, (method, path, operation["security"])


def test_output_fields_are_required_as_they_are_always_there():
    """A model default made `status`, `progress`, … optional in outputs, so generated clients typed them
    "maybe absent"; an output has every field its serializer declares."""
    from tests.openapi_validation import openapi_schema

    schemas = openapi_schema()["components"]["schemas"]
    for name in ("Generation", "CameoOwner", "AccessRequest", "Me"):
        assert set(schemas[name]["required"]) == set(schemas[name]["properties"]), name
