"""The error codes `core` answers with: the ones the exception handler emits for DRF's own exceptions, and
the media codes every upload shares.

Every app has one `StrEnum` like this one (`accounts.errors`, `cameos.errors`, `generation.errors`); the
prompt language's codes are `ml.prompt.ERROR_CODES`. `core.openapi` lists the union in the `Error` schema,
so a generated client has them as constants. A member's value is the string on the wire: it never changes
meaning and is never renamed; add members, and `ApplicationError` takes a plain string too."""

from enum import StrEnum
from importlib import import_module

from django.apps import apps
from django.utils.module_loading import module_has_submodule

from ml.prompt import ERROR_CODES as PROMPT_ERROR_CODES


class CoreError(StrEnum):
    # What the exception handler emits for DRF's and Django's exceptions (and the Django-level handlers).
    VALIDATION_ERROR = "validation_error"  # `extra.fields` names each bad field with its own code
    PARSE_ERROR = "parse_error"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    THROTTLED = "throttled"
    BAD_REQUEST = "bad_request"
    SERVER_ERROR = "server_error"
    MEDIA_LINK_INVALID = "media_link_invalid"  # a signed media URL that is forged or expired
    REQUEST_TOO_LARGE = "request_too_large"  # a body over its route's limit, refused before it is read (413)
    RANGE_NOT_SATISFIABLE = "range_not_satisfiable"  # a byte range past the end of a media file (416)
    REALTIME_UNAVAILABLE = "realtime_unavailable"  # the broker behind the realtime ping is unreachable (503)
    # An uploaded file that cannot be used: `media_` + ml.media's MediaErrorCode, and a few checked here.
    MEDIA_MISSING_FILE = "media_missing_file"
    MEDIA_EMPTY_FILE = "media_empty_file"
    MEDIA_FILE_TOO_LARGE = "media_file_too_large"
    MEDIA_UNKNOWN_FORMAT = "media_unknown_format"
    MEDIA_NOT_A_VIDEO = "media_not_a_video"
    MEDIA_TRUNCATED = "media_truncated"
    MEDIA_CORRUPT = "media_corrupt"
    MEDIA_NO_STREAMS = "media_no_streams"
    MEDIA_NO_VIDEO_STREAM = "media_no_video_stream"
    MEDIA_NO_AUDIO_STREAM = "media_no_audio_stream"
    MEDIA_BAD_DIMENSIONS = "media_bad_dimensions"
    MEDIA_BAD_DURATION = "media_bad_duration"
    MEDIA_UNSUPPORTED_CODEC = "media_unsupported_codec"
    MEDIA_TIMEOUT = "media_timeout"
    MEDIA_DECODER_CRASHED = "media_decoder_crashed"
    MEDIA_WRITE_FAILED = "media_write_failed"
    MEDIA_UNSUPPORTED_CONTAINER = "media_unsupported_container"
    MEDIA_NOT_AN_IMAGE = "media_not_an_image"


def media_error(code: str) -> CoreError:
    """The API code for ml.media's `MediaErrorCode` (`truncated` → `media_truncated`); every one has a
    member (tests/core/test_error_codes.py), so this never raises for a code ml.media can give."""
    return CoreError(f"media_{code}")


def error_code_enums() -> list[type[StrEnum]]:
    """Every app's error-code enums: the `StrEnum` classes of each installed app's `errors` module, found
    the way Django finds `admin.py`, so a new app's codes are listed without core importing that app."""
    found: list[type[StrEnum]] = []
    for config in apps.get_app_configs():
        if not module_has_submodule(config.module, "errors"):
            continue
        module = import_module(f"{config.name}.errors")
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, StrEnum)
            and value is not StrEnum
            and value.__module__ == module.__name__
        ]
    return found


def all_error_codes() -> list[str]:
    """The union a client may see in `Error.code`, sorted: every app's enum and the prompt language's codes."""
    codes = {member.value for enum in error_code_enums() for member in enum}
    return sorted(codes | PROMPT_ERROR_CODES)
