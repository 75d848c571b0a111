"""Private media reaches clients only through signed, expiring URLs.

With S3 the store signs the URL itself. With local files, a URL carries a media token naming the file,
checked by `serve_signed_media` (which is the only route to those files: MEDIA_ROOT is never served).

A media token is opaque: the storage name and the expiry are encrypted and authenticated (Fernet) with a
key derived from the install's secret for this one purpose, so a link says nothing about where the file
lives, and nobody without the key can make or alter one. However long a caller asks a link to live,
`media_token_read` refuses one older than MEDIA_URL_MAX_AGE_SECONDS (Fernet's own timestamp)."""

import json
import re
import time
from base64 import urlsafe_b64encode
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, JsonResponse
from django.urls import reverse

from core.exceptions import error_body
from core.keys import derive_key

_PURPOSE = "media-token"
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    return Fernet(urlsafe_b64encode(derive_key(secret, _PURPOSE)))


def media_token_create(name: str, expires_in_seconds: int) -> str:
    """An opaque token for the storage file `name`, valid for `expires_in_seconds` (at most the cap)."""
    lifetime = min(int(expires_in_seconds), settings.MEDIA_URL_MAX_AGE_SECONDS)
    payload = json.dumps({"n": name, "e": int(time.time()) + lifetime}, separators=(",", ":"))
    # Without its base64 padding: one spelling per token (a decoder ignores whatever follows padding).
    return _fernet(settings.SECRET_KEY).encrypt(payload.encode()).decode().rstrip("=")


def media_token_read(token: str) -> str | None:
    """The storage name a token grants, or None when it is forged, altered, expired or past the cap."""
    if not _TOKEN_ALPHABET.fullmatch(token):
        return None
    padded = token + "=" * (-len(token) % 4)
    try:
        raw = _fernet(settings.SECRET_KEY).decrypt(padded.encode(), ttl=settings.MEDIA_URL_MAX_AGE_SECONDS)
        payload = json.loads(raw)
        name, expires_at = payload["n"], int(payload["e"])
    except (InvalidToken, ValueError, KeyError, TypeError, UnicodeError):
        return None
    if not isinstance(name, str) or expires_at <= time.time():
        return None
    return name


def signed_media_url(name: str, expires_in_seconds: int) -> str:
    if hasattr(default_storage, "bucket_name"):  # S3-compatible: a pre-signed GET
        return default_storage.url(name, expire=min(expires_in_seconds, settings.MEDIA_URL_MAX_AGE_SECONDS))
    return reverse("signed-media", kwargs={"token": media_token_create(name, expires_in_seconds)})


def serve_signed_media(request: HttpRequest, token: str) -> FileResponse | JsonResponse:
    name = media_token_read(token)
    if name is None:
        return JsonResponse(
            error_body("media_link_invalid", "This media link is invalid or has expired."), status=403
        )
    if not default_storage.exists(name):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    response = FileResponse(default_storage.open(name, "rb"))
    response["Cache-Control"] = "private, no-store"
    return response
