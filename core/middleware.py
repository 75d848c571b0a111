import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.body_limit import route_body_limit, too_large_body
from core.errors import CoreError
from core.exceptions import error_body

logger = logging.getLogger("sora_social.request")

# A client's request id is echoed in a response header: only a plain token is, anything else is replaced.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RefuseNulMiddleware:
    """A NUL character (`%00`) in the path or the query is refused with 400 `bad_request` before any view:
    PostgreSQL cannot hold one in text (a lookup with it was a 500 there, and on SQLite `maya%00` found
    @maya)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = (part for key, values in request.GET.lists() for part in (key, *values))
        if "\x00" in request.path or any("\x00" in part for part in query):
            return JsonResponse(
                error_body(CoreError.BAD_REQUEST, "The URL contains a NUL character (%00)."), status=400
            )
        return self.get_response(request)


class RequestLogMiddleware:
    """One structured log line per request, with a request id that is echoed back to the client."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.headers.get("X-Request-ID", "")
        if not _REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex
        request.request_id = request_id  # read by the log of a failed request (sora_social/settings/logging.py)
        started = time.perf_counter()
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        if request.path not in ("/healthz", "/readyz", "/metrics"):
            user = getattr(request, "user", None)
            logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": getattr(user, "pk", None),
                },
            )
        return response


class DeclaredBodyLimitMiddleware:
    """The JSON body limit again inside Django, for a server without the ASGI middleware (WSGI, the test
    client): a declared Content-Length over REQUEST_BODY_MAX_BYTES is refused with 413 before the body is
    read. Upload routes check their own declared limits in their views (core.uploads); a streamed body is
    cut off only by the ASGI middleware (core/body_limit.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared.isascii() and declared.isdigit():
            limit, is_upload_route = route_body_limit(request.path_info)
            if not is_upload_route and int(declared) > limit:
                return JsonResponse(too_large_body(limit), status=413)
        return self.get_response(request)
