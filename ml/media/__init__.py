"""Media I/O for the identity models: probe, sample frames, extract audio, write mp4.

Every failure on untrusted input is a ``MediaError`` with a stable ``code`` (see ``ml.media.errors``).
"""

from ml.media.decode import SPEECH_SAMPLE_RATE, FrameSamples, extract_audio, sample_frames
from ml.media.encode import write_mp4
from ml.media.errors import MediaError, MediaErrorCode
from ml.media.probe import (
    AudioStreamInfo,
    MediaInfo,
    MediaLimits,
    VideoStreamInfo,
    probe,
    probe_isolated,
)

__all__ = [
    "SPEECH_SAMPLE_RATE",
    "AudioStreamInfo",
    "FrameSamples",
    "MediaError",
    "MediaErrorCode",
    "MediaInfo",
    "MediaLimits",
    "VideoStreamInfo",
    "extract_audio",
    "probe",
    "probe_isolated",
    "sample_frames",
    "write_mp4",
]
