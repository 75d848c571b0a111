"""Rate limits on expensive or brute-forceable operations.

Every limit is a DRF scope whose rate comes from settings (`REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`,
each read from the environment); a throttled request answers 429 `throttled` with `Retry-After` and
`extra.retry_after_seconds`. A signed-in user is counted by account, anyone else by client address
(`NUM_PROXIES` decides which address that is). The OpenAPI description of each throttled operation states
its rate (core/openapi.py).
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from core.errors import CoreError
from core.exceptions import error_body


class ScopedWriteThrottle(ScopedRateThrottle):
    """A scoped throttle on the operations that change something: reading (GET, HEAD, OPTIONS) is free."""

    methods = ("POST", "PUT", "PATCH", "DELETE")

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class AddressRateThrottle(ScopedRateThrottle):
    """A scope counted per client address whoever is signed in, for views outside DRF (the admin login)."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def allow_request(self, request: Any, view: Any) -> bool:
        return SimpleRateThrottle.allow_request(self, request, view)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def throttle_posts_by_address(
    view: Callable[..., HttpResponse], *, scope: str
) -> Callable[..., HttpResponse]:
    """Wrap a plain Django view so that its POSTs (sign-in attempts) are limited per client address."""

    def throttled(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST":
            throttle = AddressRateThrottle(scope)
            if not throttle.allow_request(request, None):
                wait = max(1, int(throttle.wait() or 1))
                response = JsonResponse(
                    error_body(
                        CoreError.THROTTLED,
                        f"Too many sign-in attempts: try again in {wait} seconds.",
                        {"retry_after_seconds": wait},
                    ),
                    status=429,
                )
                response["Retry-After"] = str(wait)
                return response
        return view(request, *args, **kwargs)

    return throttled
