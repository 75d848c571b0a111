"""Decode what the identity models need: frames at a chosen rate, upright; audio as 16 kHz mono float32.

Frames are rotated for display (phones record landscape sensor data with a rotation flag), so a face is
upright whatever the phone's orientation. Decoding is bounded by ``MediaLimits.time_budget_s``; a stream
that breaks mid-way keeps the frames already decoded (a cut-off tail is common in uploads) unless there
are none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from ml.media.errors import MediaError, MediaErrorCode
from ml.media.probe import (
    DEFAULT_LIMITS,
    Deadline,
    MediaInfo,
    MediaLimits,
    normalise_rotation,
    open_input,
    probe,
)

SPEECH_SAMPLE_RATE = 16_000


@dataclass(frozen=True, eq=False)
class FrameSamples:
    frames: tuple[np.ndarray, ...]  # each (H, W, 3) uint8 RGB, upright for display
    times_s: np.ndarray  # (N,) float64 presentation time of each frame
    rotation: int  # the rotation that was applied, counter-clockwise degrees


def _scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    # even sizes keep swscale and any later H.264 encode happy
    return max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def sample_frames(
    path: str | Path,
    *,
    fps: float,
    max_side: int | None = None,
    max_frames: int | None = None,
    limits: MediaLimits = DEFAULT_LIMITS,
    info: MediaInfo | None = None,
) -> FrameSamples:
    """Frames at about ``fps`` per second (the first frame at or after each tick), scaled so the longer
    side is at most ``max_side``, rotated upright."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    path = Path(path)
    info = info or probe(path, limits)
    if info.video is None:
        raise MediaError(MediaErrorCode.NO_VIDEO_STREAM, f"{path.name} has no video stream to sample")
    deadline = Deadline(limits.time_budget_s, f"decoding frames of {path.name}")
    frames: list[np.ndarray] = []
    times: list[float] = []
    rotation = info.video.rotation
    out_w, out_h = _scaled_size(info.video.width, info.video.height, max_side)
    next_tick = 0.0
    container = open_input(path, limits)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threading: decode is the cost of sampling 720p
        for frame in container.decode(stream):
            deadline.check()
            if frame.time is None or frame.time + 1e-6 < next_tick:
                continue
            rotation = normalise_rotation(frame.rotation or 0)
            image = frame.to_ndarray(width=out_w, height=out_h, format="rgb24")  # (H, W, 3)
            frames.append(np.ascontiguousarray(np.rot90(image, k=rotation // 90)))
            times.append(float(frame.time))
            next_tick = frame.time + 1.0 / fps - 0.5 / max(info.video.fps, fps)
            if max_frames is not None and len(frames) >= max_frames:
                break
    except av.FFmpegError as exc:
        if not frames:
            raise MediaError(MediaErrorCode.CORRUPT, f"video of {path.name} does not decode ({exc})") from exc
    finally:
        container.close()
    if not frames:
        raise MediaError(MediaErrorCode.CORRUPT, f"no video frame decoded from {path.name}")
    return FrameSamples(frames=tuple(frames), times_s=np.asarray(times), rotation=rotation)


def extract_audio(
    path: str | Path,
    *,
    sample_rate: int = SPEECH_SAMPLE_RATE,
    limits: MediaLimits = DEFAULT_LIMITS,
    info: MediaInfo | None = None,
) -> np.ndarray:
    """The first audio stream as mono float32 in [-1, 1] at ``sample_rate`` Hz, shape (N,)."""
    path = Path(path)
    info = info or probe(path, limits)
    if info.audio is None:
        raise MediaError(MediaErrorCode.NO_AUDIO_STREAM, f"{path.name} has no audio stream to extract")
    deadline = Deadline(limits.time_budget_s, f"decoding audio of {path.name}")
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    chunks: list[np.ndarray] = []
    container = open_input(path, limits)
    try:
        for frame in container.decode(container.streams.audio[0]):
            deadline.check()
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray().reshape(-1))  # packed mono: (1, n) -> (n,)
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    except av.FFmpegError as exc:
        if not chunks:
            raise MediaError(MediaErrorCode.CORRUPT, f"audio of {path.name} does not decode ({exc})") from exc
    finally:
        container.close()
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.clip(np.concatenate(chunks).astype(np.float32, copy=False), -1.0, 1.0)
