"""The one error type raised for unusable media, with a stable reason code.

Callers switch on ``MediaError.code`` (a ``MediaErrorCode``, which is a ``str``); the codes are part of the
contract with the web side, which maps them to 4xx responses: never rename one, only add.

=====================  =============================================================================
code                   meaning
=====================  =============================================================================
missing_file           the path does not exist or is not a regular file
empty_file             zero bytes
file_too_large         larger than ``MediaLimits.max_bytes``
unknown_format         not a container FFmpeg recognises (wrong magic bytes, random data, text)
not_a_video            a still image (PNG, JPEG, ...) whatever its file name says
truncated              a known container whose structure stops before its declared end
corrupt                a known container that cannot be demuxed or decoded
no_streams             neither an audio nor a video stream
no_video_stream        audio only, while video is required
no_audio_stream        video only, while audio is required
bad_dimensions         frame size zero, too small, too large, or too many pixels
bad_duration           duration unknown, non-positive, too short, too long or absurd
unsupported_codec      a stream whose codec this build cannot decode
timeout                probing or decoding took longer than the time bound
decoder_crashed        the isolated decoder process died (only ``probe_isolated``)
write_failed           writing an mp4 failed
=====================  =============================================================================
"""

from __future__ import annotations

from enum import StrEnum


class MediaErrorCode(StrEnum):
    MISSING_FILE = "missing_file"
    EMPTY_FILE = "empty_file"
    FILE_TOO_LARGE = "file_too_large"
    UNKNOWN_FORMAT = "unknown_format"
    NOT_A_VIDEO = "not_a_video"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    NO_STREAMS = "no_streams"
    NO_VIDEO_STREAM = "no_video_stream"
    NO_AUDIO_STREAM = "no_audio_stream"
    BAD_DIMENSIONS = "bad_dimensions"
    BAD_DURATION = "bad_duration"
    UNSUPPORTED_CODEC = "unsupported_codec"
    TIMEOUT = "timeout"
    DECODER_CRASHED = "decoder_crashed"
    WRITE_FAILED = "write_failed"


class MediaError(Exception):
    """Unusable media. ``code`` is stable (see the module docstring); ``message`` is for logs and humans."""

    def __init__(self, code: MediaErrorCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
