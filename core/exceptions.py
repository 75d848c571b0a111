"""One error type with a code, and the one handler that renders every API error as `{code, message, extra}`.

Clients switch on `code`: the strings are part of the API contract and never change meaning.
"""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import CoreError


class ApplicationError(Exception):
    """A refusal the client can act on: a stable `code`, a human `message`, optional `extra` details."""

    def __init__(
        self, code: str, message: str, *, status: int = status.HTTP_400_BAD_REQUEST, extra: dict | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra or {}

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "extra": self.extra}


def error_body(code: str, message: str, extra: dict | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "extra": extra or {}}


def _first_message(details: Any) -> str:
    """The first human message in a (possibly nested) DRF error structure, prefixed by its field path."""
    if isinstance(details, dict):
        if set(details) == {"message", "code"}:
            return str(details["message"])
        for field, value in details.items():
            inner = _first_message(value)
            if inner:
                return inner if field == "non_field_errors" else f"{field}: {inner}"
        return ""
    if isinstance(details, list):
        for item in details:
            inner = _first_message(item)
            if inner:
                return inner
        return ""
    return str(details)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(as_serializer_error(exc))

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # an unexpected error: Django's handler500 answers, and it is logged

    assert isinstance(exc, drf_exceptions.APIException)
    extra: dict[str, Any] = {}
    if isinstance(exc, drf_exceptions.ValidationError):
        code = "validation_error"
        fields = exc.get_full_details()
        if not isinstance(fields, dict):
            fields = {"non_field_errors": fields}
        extra["fields"] = fields
        message = _first_message(fields) or "The request is invalid."
    else:
        code = exc.default_code
        detail = exc.detail
        if isinstance(detail, dict):
            # simplejwt puts its reason in `detail` and the per-token messages beside it.
            message = str(detail.get("detail", exc.default_detail))
            code = str(detail.get("code", code))
        else:
            message = str(detail)
            detail_code = getattr(detail, "code", None)
            if detail_code and detail_code != "invalid":
                code = str(detail_code)
        if isinstance(exc, drf_exceptions.Throttled) and exc.wait is not None:
            extra["retry_after_seconds"] = int(exc.wait)
    response.data = error_body(code, message, extra)
    return response


# Django-level handlers, for what never reaches a DRF view (unknown URLs, bad hosts, crashes).
def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body(CoreError.BAD_REQUEST, "The request could not be understood."), status=400)


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        error_body(CoreError.PERMISSION_DENIED, "You do not have permission to do this."), status=403
    )


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The API's error shape, except for a browser (it asks for HTML) outside /api/, which gets the web
    pages' "not found" page, the same one a hidden or missing post's share page answers."""
    if not request.path.startswith("/api/") and "text/html" in request.headers.get("Accept", ""):
        return not_found_page(request)
    return JsonResponse(error_body(CoreError.NOT_FOUND, "Not found."), status=404)


def not_found_page(request: HttpRequest) -> HttpResponse:
    """The web pages' 404: one page for what does not exist and for what the visitor may not see."""
    return render(request, "core/not_found.html", status=404)


def handler500(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body(CoreError.SERVER_ERROR, "Something went wrong on our side."), status=500)


@csrf_exempt
def api_not_found(request: HttpRequest) -> HttpResponse:
    return handler404(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    return JsonResponse(error_body(CoreError.PERMISSION_DENIED, f"CSRF check failed: {reason}"), status=403)
