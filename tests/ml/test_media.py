"""ml.media: probe limits, rotation-aware sampling, 16 kHz audio, mp4 writing, hostile input."""

from __future__ import annotations

import time
from pathlib import Path

import av
import numpy as np
import pytest

from ml.media import (
    MediaError,
    MediaErrorCode,
    MediaLimits,
    extract_audio,
    probe,
    probe_isolated,
    sample_frames,
    write_mp4,
)

HOSTILE_CODES = [
    "truncated",
    "empty_file",
    "unknown_format",
    "not_a_video",
    "bad_dimensions",
    "bad_duration",
    "no_streams",
    "no_video_stream",
    "no_audio_stream",
    "missing_file",
]


def _portrait_frames(n: int) -> list[np.ndarray]:
    """Portrait frames (H > W) with a white marker in the top-left corner, to see which way is up."""
    frames = []
    for _ in range(n):
        frame = np.zeros((96, 64, 3), dtype=np.uint8)
        frame[:24, :16] = 255
        frames.append(frame)
    return frames


def _tone(seconds: float, rate: int = 16_000) -> np.ndarray:
    return (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


@pytest.mark.parametrize("code", HOSTILE_CODES)
def test_hostile_media_raises_media_error_with_code_quickly(
    hostile_files: dict[str, Path], code: str
) -> None:
    start = time.perf_counter()
    with pytest.raises(MediaError) as caught:
        probe(hostile_files[code])
    assert caught.value.code == MediaErrorCode(code), caught.value
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("code", ["truncated", "not_a_video", "no_audio_stream"])
def test_isolated_probe_reports_the_same_codes(hostile_files: dict[str, Path], code: str) -> None:
    with pytest.raises(MediaError) as caught:
        probe_isolated(hostile_files[code])
    assert caught.value.code == code


def test_isolated_probe_returns_info_and_enforces_its_timeout(hostile_files: dict[str, Path]) -> None:
    info = probe_isolated(hostile_files["valid"])
    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    with pytest.raises(MediaError) as caught:
        probe_isolated(hostile_files["valid"], timeout_s=0.001)
    assert caught.value.code == MediaErrorCode.TIMEOUT


def test_decoding_past_the_time_budget_is_a_timeout(hostile_files: dict[str, Path]) -> None:
    with pytest.raises(MediaError) as caught:
        sample_frames(hostile_files["valid"], fps=15, limits=MediaLimits(time_budget_s=0.0))
    assert caught.value.code == MediaErrorCode.TIMEOUT


def test_limits_are_configurable(hostile_files: dict[str, Path]) -> None:
    with pytest.raises(MediaError) as caught:
        probe(hostile_files["valid"], MediaLimits(max_bytes=100))
    assert caught.value.code == MediaErrorCode.FILE_TOO_LARGE
    with pytest.raises(MediaError) as caught:
        probe(hostile_files["valid"], MediaLimits(max_duration_s=1.0))
    assert caught.value.code == MediaErrorCode.BAD_DURATION
    assert probe(hostile_files["no_audio_stream"], MediaLimits(require_audio=False)).audio is None


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_phone_rotation_is_applied_so_frames_come_back_upright(tmp_path: Path, rotation: int) -> None:
    path = write_mp4(
        tmp_path / "phone.mp4", _portrait_frames(30), fps=15, audio=_tone(2.0), rotation=rotation
    )

    info = probe(path)
    samples = sample_frames(path, fps=5)

    assert info.video is not None and info.video.rotation == rotation
    assert (info.video.display_width, info.video.display_height) == (64, 96)
    assert (info.video.width, info.video.height) == ((96, 64) if rotation in (90, 270) else (64, 96))
    first = samples.frames[0]
    assert first.shape == (96, 64, 3)
    assert first[:24, :16].mean() > 200 and first[-24:, -16:].mean() < 50  # marker still top-left


def test_sampling_rate_size_and_audio_extraction(tmp_path: Path) -> None:
    path = write_mp4(
        tmp_path / "clip.mp4", _portrait_frames(45), fps=15, audio=_tone(3.0, 44_100), sample_rate=44_100
    )

    samples = sample_frames(path, fps=5, max_side=48)
    audio = extract_audio(path)

    assert len(samples.frames) == 15
    assert np.allclose(np.diff(samples.times_s), 0.2, atol=0.01)
    assert samples.frames[0].shape == (48, 32, 3)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) / 16_000 - 3.0) < 0.15  # AAC priming adds a few ms
    spectrum = np.abs(np.fft.rfft(audio[4000:20000]))
    assert abs(np.argmax(spectrum) * 16_000 / 16_000 - 440) < 5  # the 440 Hz tone survived resampling


def _write_client_recording(path: Path, container_format: str, video_codec: str, audio_codec: str) -> None:
    """What a browser (MediaRecorder WebM: VP9 + Opus, live, no duration) or an iPhone (MOV) uploads."""
    options = {"live": "1"} if container_format == "webm" else {}
    with av.open(str(path), "w", format=container_format, options=options) as container:
        video = container.add_stream(video_codec, rate=15)
        video.width, video.height, video.pix_fmt = 64, 96, "yuv420p"
        audio = container.add_stream(audio_codec, rate=48_000)
        audio.layout = "mono"
        for frame in _portrait_frames(30):
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode(None))
        samples = av.AudioFrame.from_ndarray(_tone(2.0, 48_000)[None], format="flt", layout="mono")
        samples.sample_rate, samples.pts = 48_000, 0
        container.mux(audio.encode(samples))
        container.mux(audio.encode(None))


@pytest.mark.parametrize(
    ("container_format", "video_codec", "audio_codec", "suffix"),
    [("webm", "libvpx-vp9", "libopus", ".webm"), ("mov", "libx264", "aac", ".mov")],
)
def test_browser_webm_and_phone_mov_are_accepted(
    tmp_path: Path, container_format: str, video_codec: str, audio_codec: str, suffix: str
) -> None:
    path = tmp_path / f"client{suffix}"
    _write_client_recording(path, container_format, video_codec, audio_codec)

    info = probe(path)  # live WebM states no duration: the probe measures it from packet timestamps

    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    assert info.video is not None and info.video.codec in ("vp9", "h264")
    assert info.audio is not None and info.audio.sample_rate == 48_000
    assert len(sample_frames(path, fps=5).frames) == 10
    assert abs(len(extract_audio(path)) - 32_000) < 1_000


def test_write_mp4_leaves_nothing_behind_on_failure(tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(ValueError, match="uint8"):
        write_mp4(out_dir / "bad.mp4", [np.zeros((16, 16, 3), dtype=np.float32)], fps=10)
    assert list(out_dir.iterdir()) == []


def test_mutated_files_only_ever_raise_media_error(hostile_files: dict[str, Path], tmp_path: Path) -> None:
    """Flipped bytes, cut tails and scrambled headers: a verdict or a MediaError, nothing else, quickly."""
    data = hostile_files["valid"].read_bytes()
    rng = np.random.default_rng(0)
    path = tmp_path / "mutated.mp4"
    outcomes: dict[str, int] = {}
    start = time.perf_counter()
    for case in range(90):
        mutated = bytearray(data)
        if case % 3 == 0:
            for position in rng.integers(0, len(mutated), 10):
                mutated[position] = int(rng.integers(0, 256))
        elif case % 3 == 1:
            mutated = mutated[: int(rng.integers(8, len(mutated)))]
        else:
            position = int(rng.integers(0, 64))
            mutated[position : position + 4] = rng.integers(0, 256, 4).astype(np.uint8).tobytes()
        path.write_bytes(bytes(mutated))
        try:
            info = probe(path)
            sample_frames(path, fps=5, info=info)
            extract_audio(path, info=info)
            outcomes["ok"] = outcomes.get("ok", 0) + 1
        except MediaError as exc:
            outcomes[exc.code] = outcomes.get(exc.code, 0) + 1
    print(f"mutation outcomes: {outcomes}")
    assert outcomes.get("truncated", 0) > 0 and outcomes.get("corrupt", 0) > 0
    assert time.perf_counter() - start < 30
