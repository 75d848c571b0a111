"""Probe a container before trusting it: streams, codecs, duration, dimensions, rotation, with limits.

The probe reads headers, demuxes (without decoding) only when the container does not state its duration
(browser WebM), and decodes just the first video and audio frame, to prove the streams decode and to read
the display rotation that phones store as side data. Every loop checks a deadline. ``probe_isolated`` runs
the same probe in a child process with a hard timeout, for callers that must survive a decoder crash.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import av

from ml.media.errors import MediaError, MediaErrorCode
from ml.media.isolated import run_isolated

# FFmpeg demuxers that read a single still image; a renamed photo opens through one of these.
_IMAGE_DEMUXERS = ("image2", "_pipe", "gif", "webp", "apng")


@dataclass(frozen=True)
class MediaLimits:
    max_bytes: int = 512 * 1024 * 1024  # reject before opening: a cameo upload is far smaller
    min_duration_s: float = 0.2  # shorter than this is not a recording (the product's 2 s is checked above)
    max_duration_s: float = 600.0  # longer is absurd for a cameo and would bound decode time badly
    min_side: int = 16  # smaller frames cannot hold a face
    max_side: int = 4096  # 4K is the largest a phone records; beyond is hostile or useless
    max_pixels: int = 4096 * 2304  # width * height bound, so a 4096x4096 "frame bomb" is refused too
    require_video: bool = True  # a cameo needs a face
    require_audio: bool = True  # a cameo needs a voice
    time_budget_s: float = 10.0  # wall-clock bound for one probe or one decode pass
    max_probe_packets: int = 600  # packets demuxed while looking for a first decodable frame


DEFAULT_LIMITS = MediaLimits()


@dataclass(frozen=True)
class VideoStreamInfo:
    codec: str  # FFmpeg decoder name, e.g. "h264"
    width: int  # stored (coded) width, before rotation
    height: int  # stored height, before rotation
    fps: float  # average frame rate; 0.0 when the container does not say
    rotation: int  # counter-clockwise degrees to rotate stored frames for display: 0, 90, 180 or 270
    display_width: int  # width once rotated for display
    display_height: int  # height once rotated for display


@dataclass(frozen=True)
class AudioStreamInfo:
    codec: str  # FFmpeg decoder name, e.g. "aac"
    sample_rate: int  # Hz
    channels: int


@dataclass(frozen=True)
class MediaInfo:
    path: str
    format_name: str  # FFmpeg demuxer name(s), e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    size_bytes: int
    duration_s: float
    video: VideoStreamInfo | None
    audio: AudioStreamInfo | None


class Deadline:
    """A wall-clock bound shared by the loops of one probe or decode pass."""

    def __init__(self, seconds: float, what: str) -> None:
        self.end = time.monotonic() + seconds
        self.seconds = seconds
        self.what = what

    def check(self) -> None:
        if time.monotonic() > self.end:
            raise MediaError(MediaErrorCode.TIMEOUT, f"{self.what} took longer than {self.seconds:.1f} s")


def normalise_rotation(degrees: float) -> int:
    """Snap a display-matrix angle (FFmpeg gives [-180, 180]) to 0/90/180/270 counter-clockwise."""
    return round(degrees / 90.0) % 4 * 90


def _looks_like_known_container(head: bytes) -> bool:
    return (
        head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")
        or head[:4] == b"\x1a\x45\xdf\xa3"  # EBML: Matroska / WebM
        or head[:4] == b"RIFF"
    )


def _mp4_truncated(path: Path, size: int) -> bool:
    """True when a top-level ISO-BMFF box declares more bytes than the file holds (a cut-off upload)."""
    with path.open("rb") as handle:
        offset = 0
        for _ in range(10_000):  # a real file has a handful of top-level boxes; bound the walk anyway
            if offset + 8 > size:
                return offset != size
            handle.seek(offset)
            header = handle.read(16)
            box_size = int.from_bytes(header[:4], "big")
            if box_size == 1:  # 64-bit size follows the type
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:  # box runs to the end of the file
                return False
            if box_size < 8:
                return False  # not a box structure at all: let FFmpeg's verdict stand
            if offset + box_size > size:
                return True
            offset += box_size
    return False


def _open_error(path: Path, size: int, exc: Exception) -> MediaError:
    with path.open("rb") as handle:
        head = handle.read(16)
    if not _looks_like_known_container(head):
        return MediaError(MediaErrorCode.UNKNOWN_FORMAT, f"{path.name}: not a recognised container ({exc})")
    if head[4:8] == b"ftyp" and _mp4_truncated(path, size):
        return MediaError(MediaErrorCode.TRUNCATED, f"{path.name}: mp4/mov box runs past the end of the file")
    return MediaError(MediaErrorCode.CORRUPT, f"{path.name}: container cannot be read ({exc})")


def _stream_duration_s(container: av.container.InputContainer) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / 1_000_000
    best = None
    for stream in container.streams:
        if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
            seconds = float(stream.duration * stream.time_base)
            best = seconds if best is None else max(best, seconds)
    return best


def _demuxed_duration_s(container: av.container.InputContainer, deadline: Deadline) -> float | None:
    """Duration from the last packet timestamp, for containers that do not state it (MediaRecorder WebM)."""
    last = None
    for packet in container.demux():
        deadline.check()
        if packet.pts is not None and packet.time_base is not None:
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            last = end if last is None else max(last, end)
    container.seek(0)
    return last


def _first_frame(
    container: av.container.InputContainer, stream: av.stream.Stream, limits: MediaLimits, deadline: Deadline
) -> av.VideoFrame | av.AudioFrame:
    kind = stream.type
    try:
        for count, packet in enumerate(container.demux(stream)):
            deadline.check()
            if count > limits.max_probe_packets:
                break
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame | av.AudioFrame):
                    return frame
    except av.FFmpegError as exc:
        raise MediaError(MediaErrorCode.CORRUPT, f"{kind} stream does not decode ({exc})") from exc
    raise MediaError(
        MediaErrorCode.CORRUPT, f"no decodable {kind} frame in the first {limits.max_probe_packets} packets"
    )


def _check_dimensions(width: int, height: int, limits: MediaLimits) -> None:
    if min(width, height) < limits.min_side or max(width, height) > limits.max_side:
        raise MediaError(
            MediaErrorCode.BAD_DIMENSIONS,
            f"frame size {width}x{height} outside [{limits.min_side}, {limits.max_side}] per side",
        )
    if width * height > limits.max_pixels:
        raise MediaError(
            MediaErrorCode.BAD_DIMENSIONS, f"frame size {width}x{height} exceeds {limits.max_pixels} pixels"
        )


def open_input(path: Path, limits: MediaLimits) -> av.container.InputContainer:
    """Open a container after the cheap file checks, mapping every failure to a ``MediaError``."""
    if not path.is_file():
        raise MediaError(MediaErrorCode.MISSING_FILE, f"{path} does not exist or is not a file")
    size = path.stat().st_size
    if size == 0:
        raise MediaError(MediaErrorCode.EMPTY_FILE, f"{path.name} is empty")
    if size > limits.max_bytes:
        raise MediaError(MediaErrorCode.FILE_TOO_LARGE, f"{path.name} is {size} bytes > {limits.max_bytes}")
    try:
        # probesize/analyzeduration bound how much FFmpeg reads while guessing stream parameters.
        return av.open(str(path), options={"probesize": "10000000", "analyzeduration": "10000000"})
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise _open_error(path, size, exc) from exc


def probe(path: str | Path, limits: MediaLimits = DEFAULT_LIMITS) -> MediaInfo:
    """Describe a media file, or raise ``MediaError`` with the first limit it breaks."""
    # 1. cheap checks and open
    path = Path(path)
    deadline = Deadline(limits.time_budget_s, f"probing {path.name}")
    container = open_input(path, limits)
    try:
        return _probe_open(path, container, limits, deadline)
    finally:
        container.close()


def _probe_open(
    path: Path, container: av.container.InputContainer, limits: MediaLimits, deadline: Deadline
) -> MediaInfo:
    # 2. what kind of file this is
    format_name = container.format.name
    if any(marker in format_name for marker in _IMAGE_DEMUXERS):
        raise MediaError(MediaErrorCode.NOT_A_VIDEO, f"{path.name} is a still image ({format_name})")
    video_stream = container.streams.video[0] if container.streams.video else None
    audio_stream = container.streams.audio[0] if container.streams.audio else None
    if video_stream is None and audio_stream is None:
        raise MediaError(MediaErrorCode.NO_STREAMS, f"{path.name} has no audio or video stream")
    if limits.require_video and video_stream is None:
        raise MediaError(MediaErrorCode.NO_VIDEO_STREAM, f"{path.name} has audio only")
    if limits.require_audio and audio_stream is None:
        raise MediaError(MediaErrorCode.NO_AUDIO_STREAM, f"{path.name} has video only")

    # 3. header-level limits, before any decoding
    if video_stream is not None:
        if video_stream.codec_context is None:
            raise MediaError(MediaErrorCode.UNSUPPORTED_CODEC, "video stream has no decoder in this build")
        _check_dimensions(video_stream.codec_context.width, video_stream.codec_context.height, limits)
    duration = _stream_duration_s(container)
    if duration is None:
        duration = _demuxed_duration_s(container, deadline)
    if duration is None or not (limits.min_duration_s <= duration <= limits.max_duration_s):
        raise MediaError(
            MediaErrorCode.BAD_DURATION,
            f"duration {duration} s outside [{limits.min_duration_s}, {limits.max_duration_s}] s",
        )

    # 4. prove each stream decodes; the first video frame carries the display rotation
    video_info = None
    if video_stream is not None:
        frame = _first_frame(container, video_stream, limits, deadline)
        assert isinstance(frame, av.VideoFrame), type(frame)  # demuxed from the video stream
        _check_dimensions(frame.width, frame.height, limits)
        rotation = normalise_rotation(frame.rotation or 0)
        swapped = rotation in (90, 270)
        video_info = VideoStreamInfo(
            codec=video_stream.codec_context.name,
            width=frame.width,
            height=frame.height,
            fps=float(video_stream.average_rate or video_stream.guessed_rate or 0.0),
            rotation=rotation,
            display_width=frame.height if swapped else frame.width,
            display_height=frame.width if swapped else frame.height,
        )
        container.seek(0)
    audio_info = None
    if audio_stream is not None:
        if audio_stream.codec_context is None:
            raise MediaError(MediaErrorCode.UNSUPPORTED_CODEC, "audio stream has no decoder in this build")
        _first_frame(container, audio_stream, limits, deadline)
        audio_info = AudioStreamInfo(
            codec=audio_stream.codec_context.name,
            sample_rate=int(audio_stream.codec_context.sample_rate or 0),
            channels=int(audio_stream.codec_context.channels or 0),
        )
    return MediaInfo(
        path=str(path),
        format_name=format_name,
        size_bytes=path.stat().st_size,
        duration_s=float(duration),
        video=video_info,
        audio=audio_info,
    )


def probe_isolated(
    path: str | Path, limits: MediaLimits = DEFAULT_LIMITS, timeout_s: float = 20.0
) -> MediaInfo:
    """``probe`` in a child process, killed after ``timeout_s``: a decoder crash or hang cannot take the
    caller down. Costs one interpreter start (~0.2 s); use it on untrusted uploads before anything else."""
    request = {"path": str(Path(path).resolve()), "limits": asdict(limits)}
    result = run_isolated("ml.media.probe", request, timeout_s=timeout_s, doing=f"probing {Path(path).name}")
    info = result["info"]
    return MediaInfo(
        **{
            **info,
            "video": VideoStreamInfo(**info["video"]) if info["video"] else None,
            "audio": AudioStreamInfo(**info["audio"]) if info["audio"] else None,
        }
    )


def _main() -> None:
    request = json.loads(sys.stdin.read())
    try:
        info = probe(request["path"], MediaLimits(**request["limits"]))
    except MediaError as exc:
        print(json.dumps({"error": exc.code.value, "message": exc.message}))
        return
    print(json.dumps({"info": asdict(info)}))


if __name__ == "__main__":
    _main()
