"""Private media reaches clients only through signed, expiring URLs.

With S3 the store signs the URL itself. With local files, a URL carries a signed token naming the file,
checked by `serve_signed_media` (which is the only route to those files: MEDIA_ROOT is never served)."""

from django.core import signing
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, JsonResponse
from django.urls import reverse

from core.errors import CoreError
from core.exceptions import error_body

_SALT = "core.signed-media"


def signed_media_url(name: str, expires_in_seconds: int) -> str:
    if hasattr(default_storage, "bucket_name"):  # S3-compatible: a pre-signed GET
        return default_storage.url(name, expire=expires_in_seconds)
    token = signing.dumps({"name": name, "ttl": expires_in_seconds}, salt=_SALT, compress=True)
    return reverse("signed-media", kwargs={"token": token})


def serve_signed_media(request: HttpRequest, token: str) -> FileResponse | JsonResponse:
    try:
        payload = signing.loads(token, salt=_SALT)
        payload = signing.loads(token, salt=_SALT, max_age=int(payload["ttl"]))
    except (signing.BadSignature, KeyError, ValueError, TypeError):
        return JsonResponse(
            error_body(CoreError.MEDIA_LINK_INVALID, "This media link is invalid or has expired."), status=403
        )
    name = payload["name"]
    if not default_storage.exists(name):
        return JsonResponse(error_body(CoreError.NOT_FOUND, "Not found."), status=404)
    response = FileResponse(default_storage.open(name, "rb"))
    response["Cache-Control"] = "private, no-store"
    return response
