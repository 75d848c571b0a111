"""Private media reaches clients only through signed, expiring URLs.

With S3 the store signs the URL itself. With local files, a URL carries a signed token naming the file and
the viewer it was handed to, checked by `serve_signed_media` (which is the only route to those files:
MEDIA_ROOT is never served). A signature proves only that the link was handed out once: before serving a
byte the route asks the app that owns the file (a guard registered with `register_media_guard` in its
`AppConfig.ready`) whether that viewer may still have it, so a block, a take-down or a withdrawn consent
stops a link already handed out. A file no app guards is not served."""

from collections.abc import Callable

from django.core import signing
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, JsonResponse
from django.urls import reverse

from core.exceptions import error_body

_SALT = "core.signed-media"

# (storage name, id of the viewer the link was handed to or None) -> may they have it now?
MediaGuard = Callable[[str, int | None], bool]
_guards: dict[str, MediaGuard] = {}


def register_media_guard(prefix: str, guard: MediaGuard) -> None:
    """Files stored under `prefix` are served only while `guard` says the link's viewer may have them."""
    _guards[prefix] = guard


def _guard_for(name: str) -> MediaGuard | None:
    return next((guard for prefix, guard in _guards.items() if name.startswith(prefix)), None)


def signed_media_url(name: str, expires_in_seconds: int, *, viewer_id: int | None = None) -> str:
    if hasattr(default_storage, "bucket_name"):  # S3-compatible: a pre-signed GET
        return default_storage.url(name, expire=expires_in_seconds)
    token = signing.dumps(
        {"name": name, "ttl": expires_in_seconds, "viewer": viewer_id}, salt=_SALT, compress=True
    )
    return reverse("signed-media", kwargs={"token": token})


def serve_signed_media(request: HttpRequest, token: str) -> FileResponse | JsonResponse:
    try:
        payload = signing.loads(token, salt=_SALT)
        payload = signing.loads(token, salt=_SALT, max_age=int(payload["ttl"]))
    except (signing.BadSignature, KeyError, ValueError, TypeError):
        return JsonResponse(
            error_body("media_link_invalid", "This media link is invalid or has expired."), status=403
        )
    name = payload["name"]
    guard = _guard_for(name)
    if guard is None or not guard(name, payload.get("viewer")) or not default_storage.exists(name):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    response = FileResponse(default_storage.open(name, "rb"))
    response["Cache-Control"] = "private, no-store"
    return response
