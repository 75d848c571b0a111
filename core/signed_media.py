"""Private media reaches clients only through signed, expiring URLs.

With S3 the store signs the URL itself. With local files, a URL carries a media token naming the file and
the viewer it was handed to, checked by `serve_signed_media` (which is the only route to those files:
MEDIA_ROOT is never served). A token proves only that the link was handed out once: before serving a byte
the route asks the app that owns the file (a guard registered with `register_media_guard` in its
`AppConfig.ready`) whether that viewer may still have it, so a block, a take-down or a withdrawn consent
stops a link already handed out. A file no app guards is not served. Links are absolute (phones' players
open them as they are) and serve byte ranges (core/byte_ranges.py).

A media token is opaque: the storage name, the viewer and the expiry are encrypted and authenticated
(Fernet) with a key derived from the install's secret for this one purpose, so a link says nothing about
where the file lives, and nobody without the key can make or alter one. However long a caller asks a link
to live, `media_token_read` refuses one older than MEDIA_URL_MAX_AGE_SECONDS (Fernet's own timestamp), or
SHARE_MEDIA_URL_MAX_AGE_SECONDS for a `shareable` link: a public post's share page hands those to link-preview
crawlers that fetch later. Shareable links always take the token route, S3 or not, because an S3 pre-signed
GET cannot be recalled and one that lives a day must be."""

import json
import mimetypes
import re
import time
from base64 import urlsafe_b64encode
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.urls import get_script_prefix, get_urlconf, reverse

from core.byte_ranges import ranged_file_response
from core.errors import CoreError
from core.exceptions import error_body
from core.keys import derive_key

_PURPOSE = "media-token"
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")

# What the schema says of every signed media link.
SIGNED_MEDIA_URL_HELP = (
    f"An absolute, signed link: open it as it is (GET, no credentials); it serves byte ranges (`Range` → 206) "
    f"for seeking. It expires {settings.MEDIA_URL_EXPIRY_SECONDS} s after this response (then 403): fetch "
    "this object again for a fresh one. Null when you may not see it."
)


class MediaGrant(NamedTuple):
    name: str  # the storage name
    viewer_id: int | None  # the viewer the link was handed to (None: whoever holds it)


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    return Fernet(urlsafe_b64encode(derive_key(secret, _PURPOSE)))


def _cap(shareable: bool) -> int:
    return settings.SHARE_MEDIA_URL_MAX_AGE_SECONDS if shareable else settings.MEDIA_URL_MAX_AGE_SECONDS


def media_token_create(
    name: str, expires_in_seconds: int, *, viewer_id: int | None, shareable: bool = False
) -> str:
    """An opaque token for the storage file `name`, handed to `viewer_id`, valid for `expires_in_seconds`
    (at most the cap: the share cap for a `shareable` link)."""
    lifetime = min(int(expires_in_seconds), _cap(shareable))
    fields: dict[str, object] = {"n": name, "v": viewer_id, "e": int(time.time()) + lifetime}
    if shareable:
        fields["s"] = 1
    payload = json.dumps(fields, separators=(",", ":"))
    # Without its base64 padding: one spelling per token (a decoder ignores whatever follows padding).
    return _fernet(settings.SECRET_KEY).encrypt(payload.encode()).decode().rstrip("=")


def media_token_read(token: str) -> MediaGrant | None:
    """What a token grants, or None when it is forged, altered, expired or past the cap."""
    if not _TOKEN_ALPHABET.fullmatch(token):
        return None
    padded = token + "=" * (-len(token) % 4)
    fernet = _fernet(settings.SECRET_KEY)
    try:
        raw = fernet.decrypt(padded.encode(), ttl=max(_cap(True), _cap(False)))
        payload = json.loads(raw)
        name, viewer_id, expires_at = payload["n"], payload["v"], int(payload["e"])
        made_at = fernet.extract_timestamp(padded.encode())
    except (InvalidToken, ValueError, KeyError, TypeError, UnicodeError):
        return None
    if not isinstance(name, str) or not (viewer_id is None or isinstance(viewer_id, int)):
        return None
    if expires_at <= time.time() or made_at + _cap(payload.get("s") == 1) < time.time():
        return None
    return MediaGrant(name, viewer_id)


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
    name: str,
    expires_in_seconds: int,
    *,
    request: HttpRequest,
    viewer_id: int | None,
    shareable: bool = False,
) -> str:
    """An absolute, signed URL that serves the storage file `name` (with byte ranges) for a while, to the
    viewer it is handed to (None: anyone holding it, for files whose guard allows that). `shareable`: a
    share page's link, which may live up to SHARE_MEDIA_URL_MAX_AGE_SECONDS and is served by our own route
    (its guard asked at every request) even with S3."""
    if hasattr(default_storage, "bucket_name") and not shareable:  # S3-compatible: a pre-signed GET
        return default_storage.url(name, expire=min(expires_in_seconds, settings.MEDIA_URL_MAX_AGE_SECONDS))
    token = media_token_create(name, expires_in_seconds, viewer_id=viewer_id, shareable=shareable)
    before, after = _link_around_token(request)
    return before + token + after


def _link_around_token(request: HttpRequest) -> tuple[str, str]:
    """The absolute link to the signed media route before and after its token, as `request` came in: worked
    out once per request (a feed page signs 40 links; a token's alphabet needs no escaping)."""
    around: tuple[str, str] | None = getattr(request, "_signed_media_link", None)
    if around is None:
        before, after = _signed_media_path(get_script_prefix(), get_urlconf())
        around = (public_url(request, before), after)
        request._signed_media_link = around
    return around


@lru_cache(maxsize=8)
def _signed_media_path(script_prefix: str, urlconf: str | None) -> tuple[str, str]:
    """The signed media route's path around its token: reversed once (a page signs 40 links, and reversing
    each was a third of their cost), for the script prefix and URL conf it was reversed under."""
    marker = "TOKEN"
    before, _, after = reverse("signed-media", kwargs={"token": marker}).partition(marker)
    return before, after


def serve_signed_media(request: HttpRequest, token: str) -> StreamingHttpResponse | JsonResponse:
    grant = media_token_read(token)
    if grant is None:
        return JsonResponse(
            error_body(CoreError.MEDIA_LINK_INVALID, "This media link is invalid or has expired."), status=403
        )
    name = grant.name
    guard = _guard_for(name)
    if guard is None or not guard(name, grant.viewer_id) or not default_storage.exists(name):
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
