"""Private media reaches clients only through signed, expiring URLs.

With S3 the store signs the URL itself. With local files, a URL carries a signed token naming the file and
the viewer it was handed to, checked by `serve_signed_media` (which is the only route to those files:
MEDIA_ROOT is never served). A signature proves only that the link was handed out once: before serving a
byte the route asks the app that owns the file (a guard registered with `register_media_guard` in its
`AppConfig.ready`) whether that viewer may still have it, so a block, a take-down or a withdrawn consent
stops a link already handed out. A file no app guards is not served. Links are absolute (phones' players
open them as they are) and serve byte ranges (core/byte_ranges.py)."""

import mimetypes
from collections.abc import Callable

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.urls import reverse

from core.byte_ranges import ranged_file_response
from core.errors import CoreError
from core.exceptions import error_body

_SALT = "core.signed-media"

# What the schema says of every signed media link.
SIGNED_MEDIA_URL_HELP = (
    f"An absolute, signed link: open it as it is (GET, no credentials); it serves byte ranges (`Range` → 206) "
    f"for seeking. It expires {settings.MEDIA_URL_EXPIRY_SECONDS} s after this response (then 403): fetch "
    "this object again for a fresh one. Null when you may not see it."
)


def public_url(request: HttpRequest, path: str) -> str:
    """`path` (absolute-path form) as an absolute URL a phone can open: under MEDIA_LINK_BASE_URL when it
    is set (behind a proxy that rewrites the host), else on the scheme and host `request` came in on."""
    if settings.MEDIA_LINK_BASE_URL:
        return settings.MEDIA_LINK_BASE_URL.rstrip("/") + path
    return request.build_absolute_uri(path)


# (storage name, id of the viewer the link was handed to or None) -> may they have it now?
MediaGuard = Callable[[str, int | None], bool]
_guards: dict[str, MediaGuard] = {}


def register_media_guard(prefix: str, guard: MediaGuard) -> None:
    """Files stored under `prefix` are served only while `guard` says the link's viewer may have them."""
    _guards[prefix] = guard


def _guard_for(name: str) -> MediaGuard | None:
    return next((guard for prefix, guard in _guards.items() if name.startswith(prefix)), None)


def signed_media_url(
    name: str, expires_in_seconds: int, *, request: HttpRequest, viewer_id: int | None
) -> str:
    """An absolute, signed URL that serves the storage file `name` (with byte ranges) for a while, to the
    viewer it is handed to (None: anyone holding it, for files whose guard allows that)."""
    if hasattr(default_storage, "bucket_name"):  # S3-compatible: a pre-signed GET
        return default_storage.url(name, expire=expires_in_seconds)
    token = signing.dumps(
        {"name": name, "ttl": expires_in_seconds, "viewer": viewer_id}, salt=_SALT, compress=True
    )
    return public_url(request, reverse("signed-media", kwargs={"token": token}))


def serve_signed_media(request: HttpRequest, token: str) -> StreamingHttpResponse | JsonResponse:
    try:
        payload = signing.loads(token, salt=_SALT)
        payload = signing.loads(token, salt=_SALT, max_age=int(payload["ttl"]))
    except (signing.BadSignature, KeyError, ValueError, TypeError):
        return JsonResponse(
            error_body(CoreError.MEDIA_LINK_INVALID, "This media link is invalid or has expired."), status=403
        )
    name = payload["name"]
    guard = _guard_for(name)
    if guard is None or not guard(name, payload.get("viewer")) or not default_storage.exists(name):
        return JsonResponse(error_body(CoreError.NOT_FOUND, "Not found."), status=404)
    size = default_storage.size(name)
    # Stored media is never rewritten in place (a new render is a new name), so name, size and time
    # identify this version for If-Range.
    etag = f'"{size:x}-{int(default_storage.get_modified_time(name).timestamp() * 1e6):x}"'
    response = ranged_file_response(
        request,
        default_storage.open(name, "rb"),
        size=size,
        content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
        etag=etag,
    )
    response["Cache-Control"] = "private, no-store"
    return response
