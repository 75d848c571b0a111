"""Guards shared by the endpoints that take files."""

from rest_framework.request import Request

from core.errors import CoreError
from core.exceptions import ApplicationError

# What a multipart envelope (boundaries, part headers, small form fields) may add to a file's own size.
MULTIPART_ALLOWANCE_BYTES = 1024 * 1024


def check_content_length(request: Request, limit: int) -> None:
    """Refuse a body over `limit` bytes (as declared) before reading it: 413 `media_file_too_large`."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise ApplicationError(
            CoreError.MEDIA_FILE_TOO_LARGE,
            f"The upload is larger than {limit // (1024 * 1024)} MB.",
            status=413,
        )
