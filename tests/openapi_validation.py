"""The shared hook that checks every API response a test receives against the generated OpenAPI schema
(as Zulip does), so the schema that mobile clients generate code from never lies."""

import functools
import json
from typing import Any

import jsonschema
from django.http import HttpResponse
from drf_spectacular.generators import SchemaGenerator
from openapi_core import OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from rest_framework.test import APIClient

from core.openapi import ERROR_SCHEMA


@functools.cache
def openapi_schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


@functools.cache
def _openapi() -> OpenAPI:
    return OpenAPI.from_dict(json.loads(json.dumps(openapi_schema(), default=str)))


def assert_response_matches_schema(response: HttpResponse) -> None:
    request = getattr(response, "wsgi_request", None)
    if request is None or not request.path.startswith("/api/v1/"):
        return
    if request.path.startswith(("/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/")):
        return
    try:
        _openapi().validate_response(_ResponseOnlyRequest(request), DjangoOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound):
        # Not an operation of ours (an unknown path or method): it must still answer in the error shape.
        assert response.status_code >= 400, f"{request.method} {request.path} answered {response.status_code}"
        jsonschema.validate(json.loads(response.content), ERROR_SCHEMA)


class _ResponseOnlyRequest(DjangoOpenAPIRequest):
    """Request facts for response validation only: a multipart body that Django already streamed cannot
    be read twice, and response validation does not need it."""

    @property
    def body(self) -> bytes:
        return b""


class SchemaValidatingAPIClient(APIClient):
    def request(self, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().request(*args, **kwargs)
        assert_response_matches_schema(response)
        return response
