"""Write H.264/AAC mp4 files from RGB frames and a mono waveform (what phones and browsers play).

The file is written under a temporary name and renamed at the end, so a failure never leaves a
half-written mp4 where a reader expects a finished one.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ml.media.errors import MediaError, MediaErrorCode


def _check_frame(index: int, image: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"frame {index} must be (H, W, 3) uint8, got {image.shape} {image.dtype}")


def write_mp4(
    path: str | Path,
    frames: Iterable[np.ndarray],
    *,
    fps: float,
    audio: np.ndarray | None = None,
    sample_rate: int = 16_000,
    rotation: int = 0,
    crf: int = 23,
    preset: str = "veryfast",
) -> Path:
    """Encode ``frames`` ((H, W, 3) uint8 RGB, upright, even H and W) and optional mono ``audio``.

    ``rotation`` (0/90/180/270, counter-clockwise for display) stores the frames rotated the other way plus
    a display-matrix flag, the way a phone held in portrait records: readers that honour the flag show the
    frames exactly as given.
    """
    if rotation % 90:
        raise ValueError(f"rotation must be a multiple of 90, got {rotation}")
    frame_iter = iter(frames)
    first = next(frame_iter, None)
    if first is None:
        raise ValueError("no frames to write")
    _check_frame(0, first)
    path = Path(path)
    # unique per writer: two processes building the same file must not share a half-written one
    partial = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with av.open(str(partial), mode="w", format="mp4") as container:
            # 1. streams first: the mp4 header is written with the first packet
            video = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
            video.height, video.width = np.rot90(first, k=-(rotation // 90)).shape[:2]
            video.pix_fmt = "yuv420p"
            video.options = {"crf": str(crf), "preset": preset}
            if rotation:
                video.set_display_rotation(rotation)
            audio_stream = None
            if audio is not None:
                audio_stream = container.add_stream("aac", rate=sample_rate)
                audio_stream.layout = "mono"
            # 2. video
            for index, image in enumerate(itertools.chain([first], frame_iter)):
                _check_frame(index, image)
                stored = np.ascontiguousarray(np.rot90(image, k=-(rotation // 90)))
                container.mux(video.encode(av.VideoFrame.from_ndarray(stored, format="rgb24")))
            container.mux(video.encode(None))
            # 3. audio: one frame; the encoder re-chunks it to AAC's 1024-sample frames
            if audio_stream is not None and audio is not None:
                samples = np.clip(np.asarray(audio, dtype=np.float32).reshape(1, -1), -1.0, 1.0)  # (1, N)
                audio_frame = av.AudioFrame.from_ndarray(samples, format="flt", layout="mono")
                audio_frame.sample_rate = sample_rate
                audio_frame.pts = 0
                container.mux(audio_stream.encode(audio_frame))
                container.mux(audio_stream.encode(None))
        os.replace(partial, path)
    except (av.FFmpegError, OSError) as exc:
        raise MediaError(MediaErrorCode.WRITE_FAILED, f"writing {path}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return path
