"""Liveness (`/healthz`: the process answers), readiness (`/readyz`: its dependencies answer) and the
Prometheus metrics (`/metrics`, for the scraper only)."""

import hmac
import logging
from collections.abc import Callable

from celery import current_app
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    # The project's Celery app (sora_social/__init__.py makes it the current one when Django loads).
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


def _check_storage() -> None:
    # A metadata read: for S3 a HEAD request that proves endpoint, bucket and credentials.
    default_storage.exists("readyz-probe")
    location = getattr(default_storage, "location", None)
    if location is not None:
        import os

        if not (os.path.isdir(location) and os.access(location, os.W_OK)):
            raise OSError(f"media folder {location!r} is missing or not writable")


CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "broker": _check_broker,
    "storage": _check_storage,
}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure means not ready; the reason goes to the log, not the client
            logger.warning("readiness check %s failed: %s", name, exc)
            results[name] = "unavailable"
    ready = all(value == "ok" for value in results.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": results}, status=200 if ready else 503
    )


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """django-prometheus's exposition, for the scraper only: with `METRICS_TOKEN` set a request must carry
    `Authorization: Bearer <token>`; without one only a development (DEBUG) process serves it. Anyone else
    gets the ordinary 404: request counts, latencies and error rates are not for the public internet."""
    from django_prometheus.exports import ExportToDjangoView

    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise Http404
    elif not settings.DEBUG:
        raise Http404
    return ExportToDjangoView(request)
