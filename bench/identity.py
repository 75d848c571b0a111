"""Latency of the identity models and of one liveness report on a 5 s 720p cameo recording.

Run: ``.venv/bin/python bench/identity.py [--runs 3] [--no-write]``. It builds the recording with the test
fixture builder (a real photo, espeak-ng speech), times each component warm, then the end-to-end report,
and writes the "## Identity models (issue 3)" section of ``bench/RESULTS.md`` (other sections are kept).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from ml.identity.face import DlibFaceEmbedder, FaceAnalyzer  # noqa: E402
from ml.identity.liveness import IdentityModels, LivenessConfig, check_liveness  # noqa: E402
from ml.identity.voice import VoiceEmbedder, detect_voice_activity  # noqa: E402
from ml.media import extract_audio, probe, sample_frames  # noqa: E402
from ml.speech.asr import SpeechRecognizer  # noqa: E402
from tests.fixtures import recordings  # noqa: E402

SECTION = "## Identity models (issue 3)"
RESULTS = REPO_ROOT / "bench" / "RESULTS.md"
SPEC = replace(
    recordings.GOOD, name="bench_720p", width=1280, height=720, fps=30, min_duration_s=5.0, head_turn=True
)


def timed(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    """Median wall time of ``runs`` calls (seconds) and the last result."""
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed repetitions per measurement (median kept)")
    parser.add_argument("--no-write", action="store_true", help="print only, leave bench/RESULTS.md alone")
    args = parser.parse_args()
    config = LivenessConfig()
    rows: list[tuple[str, str, str]] = []

    # 1. cold model loads (first use in this process: sha256 check + weights), before anything else loads them
    loads = {}
    for name, factory in (
        ("face detector + 68 landmarks (dlib)", lambda: FaceAnalyzer(detect_max_side=config.detect_max_side)),
        ("face embedder (dlib ResNet)", DlibFaceEmbedder),
        ("voice encoder (Resemblyzer)", VoiceEmbedder),
        ("speech recognizer (Whisper tiny.en int8)", SpeechRecognizer),
    ):
        start = time.perf_counter()
        factory()
        loads[name] = time.perf_counter() - start
    models = IdentityModels.default(config)

    # 2. the recording (built once, then cached under bench/out/)
    start = time.perf_counter()
    path = recordings.build(SPEC, REPO_ROOT / "bench" / "out")
    print(f"recording {path} built/cached in {time.perf_counter() - start:.2f} s")

    # 3. components, warm
    info = probe(path)
    duration = info.duration_s
    t_probe, _ = timed(lambda: probe(path), args.runs)
    t_frames, samples = timed(
        lambda: sample_frames(path, fps=config.sample_fps, max_side=config.analysis_max_side, info=info),
        args.runs,
    )
    t_audio, audio = timed(lambda: extract_audio(path, info=info), args.runs)
    frames = samples.frames  # type: ignore[attr-defined]
    t_detect, faces = timed(lambda: [models.analyzer.detect(f) for f in frames], 1)
    first_face = next(i for i, f in enumerate(faces) if f)  # type: ignore[arg-type]
    t_embed, _ = timed(
        lambda: models.face_embedder.embed(frames[first_face], faces[first_face][:1]),  # type: ignore[index]
        args.runs,
    )
    t_vad, activity = timed(lambda: detect_voice_activity(audio), args.runs)  # type: ignore[arg-type]
    t_voice, _ = timed(lambda: models.voice.embed(audio, activity), args.runs)  # type: ignore[arg-type]
    t_asr, transcript = timed(lambda: models.asr.transcribe(audio), args.runs)  # type: ignore[arg-type]

    # 4. end to end
    t_total, report = timed(
        lambda: check_liveness(path, expected_digits=SPEC.digits or "", head_turn=True, models=models),
        args.runs,
    )

    n = len(frames)
    rows += [
        ("probe (headers + first frames)", f"{t_probe * 1000:.0f} ms", ""),
        (
            f"decode video, sample {config.sample_fps:g} fps at <= {config.analysis_max_side} px",
            f"{t_frames * 1000:.0f} ms",
            f"{n} frames of {info.video.width}x{info.video.height} @ {info.video.fps:g} fps",  # type: ignore[union-attr]
        ),
        ("decode audio to 16 kHz mono", f"{t_audio * 1000:.0f} ms", f"{duration:.2f} s of audio"),
        (
            f"face detect (HOG at <= {config.detect_max_side} px) + landmarks + chip",
            f"{t_detect / n * 1000:.1f} ms/frame",
            f"{t_detect * 1000:.0f} ms for {n} frames",
        ),
        (
            "face embedding (dlib ResNet, 128-D)",
            f"{t_embed * 1000:.0f} ms/face",
            f"x{config.max_embedded_frames} frames",
        ),
        ("voice activity (WebRTC VAD)", f"{t_vad * 1000:.1f} ms", f"{activity.speech_s:.2f} s voiced"),  # type: ignore[attr-defined]
        ("voice embedding (Resemblyzer, 256-D)", f"{t_voice * 1000:.0f} ms", ""),
        (
            "speech recognition (Whisper tiny.en int8, 1 thread)",
            f"{t_asr * 1000:.0f} ms",
            f"RTF {t_asr / duration:.2f}; heard {transcript.text!r}",  # type: ignore[attr-defined]
        ),
    ]
    rtf = t_total / duration
    lines = [
        SECTION,
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `bench/identity.py` "
        f"(median of {args.runs}), {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        "(shared with other work while measured), CPU only, Python "
        f"{platform.python_version()}.",
        "",
        f"Recording: {info.video.width}x{info.video.height} H.264 @ {info.video.fps:g} fps + AAC, "  # type: ignore[union-attr]
        f"{duration:.2f} s, a real face (skimage astronaut) moving, speaking 4 digits (espeak-ng en+m3), "
        "with a head turn.",
        "",
        "| model | cold load (s) |",
        "|---|---|",
        *(f"| {name} | {seconds:.2f} |" for name, seconds in loads.items()),
        f"| **all, once per worker process** (includes sha256 checks) | **{sum(loads.values()):.2f}** |",
        "",
        "| component (warm) | latency | notes |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        "",
        f"**End to end** (`check_liveness`, warm models, audio branch in a parallel thread): "
        f"**{t_total:.2f} s** for {duration:.2f} s of video, **real-time factor {rtf:.2f}** "
        f"(target < 1.0): {'met' if rtf < 1.0 else 'NOT met'}. "
        f"Verdict `{report.verdict}`, digits heard {report.digits_heard!r}, "  # type: ignore[attr-defined]
        f"yaw range {report.yaw_range_deg:.1f} deg, AV sync {report.av_sync_score:.2f}.",  # type: ignore[attr-defined]
        "",
        "Stage times inside the report (one run): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in report.timings_s.items()),  # type: ignore[attr-defined]
        "",
    ]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write_section(section)
        print(f"wrote {SECTION!r} in {RESULTS}")


def write_section(section: str) -> None:
    import results_file  # bench/, this script\'s folder, is on sys.path

    results_file.write_section(SECTION, section)


if __name__ == "__main__":
    main()
