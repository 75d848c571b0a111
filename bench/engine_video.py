"""The CPU reference engine's videos as a person receives them: the 720p mp4 out of ``ml.generate.generate``,
decoded back, measured.

Run: ``HF_HUB_OFFLINE=1 nice .venv/bin/python bench/engine_video.py [--no-write]`` (about ten minutes on
2 busy cores; never run by the test suite). Writes the "## Generation engine: the videos as watched
(engine issue #14)" section of ``bench/RESULTS.md`` and ``bench/out/contact-sheet.png`` (full size), and
``docs/contact-sheet.png`` (small, shown in the README).

1. Identity: the five held-out people of the reference model (``faces.HELD_OUT``: Tom Hanks and the four
   rightmost faces of insightface's ``t1.jpg``), each as a cameo recording built from the photo
   (``ml.synthetic.recordings``); one 2 s 720p 9:16 video each, in a different place. Every decoded frame:
   dlib HOG faces, the largest embedded (dlib ResNet); accepted when L2 < 0.6 to the cameo's embedding (the
   platform's verifier threshold). A frame with no face counts as a miss (the person is always on screen).
   Face height: dlib box height in output pixels.
2. Ghosting: share of frames that look like a crossfade of their neighbours (``blended_share`` of
   ``tests/ml/test_reference_studio.py``: among pixels that change a lot between the previous and next
   frame, most sit in the middle of the two), on the videos of 1, against the previous pipeline on the same
   specs (the DiT's 8 frames of 64 px conformed to 24 fps and 720p by crossfades, as ``ml.generate.conform``
   did for every video before this change).
3. Cuts: prompts with shots, inside and outside the training vocabulary; a cut is a frame whose mean grey
   change from the previous one is over 25 levels; reported against the shots' starts, with what each
   prompt was drawn as.
4. Sound: every video's peak and RMS; dialogue lines transcribed by the project's ASR (Whisper tiny.en),
   word error rate per voice the synthesizer matched to the cameo.
5. Speed: an 8 s 720p 9:16 video with a dialogue line, ``generate`` end to end (sound, engine, render, lip
   motion, watermark, encode, sign, fingerprint) with the engine loaded (a worker's steady state), on 2
   torch threads; the cold first call (loading the models) separately.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SECTION = "## Generation engine: the videos as watched (engine issue #14)"
OUT = REPO_ROOT / "bench" / "out"
DOCS_SHEET = REPO_ROOT / "docs" / "contact-sheet.png"
# faces.HELD_OUT names (t1 faces 1-based) -> recordings.photo names (0-based)
HELD_OUT = {"tom_hanks": "tom_hanks", "t1_3": "t1_2", "t1_4": "t1_3", "t1_5": "t1_4", "t1_6": "t1_5"}
PLACES = [
    "stands on a beach at sunset",
    "waits in a city street at night",
    "stands in a forest",
    "stands in a snowy field",
    "looks around on the moon",
]
CUT_PROMPTS = [  # (label, prompt, vocabulary)
    (
        "in vocabulary",
        "@{a} on the moon\n[0-2s] wide shot of @{a} on the moon\n[2-4s] close-up of @{a} in a snowy field",
        "inside",
    ),
    (
        "outside vocabulary",
        "@{a} in a cosy kitchen\n[0-1.5s] wide shot of @{a} cooking in a kitchen\n"
        "[1.5-3s] close-up of @{a} tasting the soup\n[3-4s] @{a} on a stage as the crowd cheers",
        "outside",
    ),
]
DIALOGUE = '@{a} and @{b} walk right in a city street\n@{a}: "Look at all these people out tonight."\n@{b}: "It is the best night of the year."'


def wer(reference: str, heard: str) -> float:
    """Word error rate: word-level edit distance over the reference's length (case and punctuation off)."""
    ref = re.findall(r"[a-z0-9']+", reference.lower())
    hyp = re.findall(r"[a-z0-9']+", heard.lower())
    row = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, start=1):
        previous, row[0] = row[0], i
        for j, other in enumerate(hyp, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != other))
    return row[len(hyp)] / max(len(ref), 1)


def blended_share(frames: np.ndarray, big: float = 40.0) -> float:
    """See ``tests/ml/test_reference_studio.py`` (the same measure)."""
    blended = checked = 0
    for i in range(1, len(frames) - 1):
        before, now, after = (frames[j].astype(np.float32).mean(axis=2) for j in (i - 1, i, i + 1))
        changed = np.abs(after - before) > big
        if changed.mean() < 0.002:
            continue
        checked += 1
        position = (now - before)[changed] / (after - before)[changed]
        blended += int(np.mean((position > 0.25) & (position < 0.75)) > 0.5)
    return blended / max(checked, 1)


def cuts(frames: np.ndarray, threshold: float = 25.0) -> list[int]:
    grey = frames.astype(np.float32).mean(axis=3)
    jumps = np.abs(np.diff(grey, axis=0)).mean(axis=(1, 2))
    return [int(i) + 1 for i in np.flatnonzero(jumps > threshold)]


def product_data(manifest: dict) -> dict:
    """The project's own assertion in a manifest (``ml.provenance.c2pa.build_manifest``)."""
    from ml.provenance.c2pa import PRODUCT_ASSERTION

    return next(a["data"] for a in manifest["assertions"] if a["label"] == PRODUCT_ASSERTION)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only, leave bench/RESULTS.md alone")
    parser.add_argument(
        "--speed-only", action="store_true", help="measure the speed step alone and print it (writes nothing)"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]

    import cv2
    import torch

    from ml.generate import conform, generate, identity_from_files
    from ml.generation.reference.studio import ReferenceStudioEngine
    from ml.identity.face import DlibFaceEmbedder, FaceAnalyzer, face_distance
    from ml.media import extract_audio, sample_frames
    from ml.prompt import PromptDefaults, parse_prompt
    from ml.provenance.c2pa import SigningConfig
    from ml.scene import Resolution, SceneSpec
    from ml.speech.asr import AsrConfig, SpeechRecognizer
    from ml.synthetic import recordings

    torch.set_num_threads(args.threads)
    OUT.mkdir(parents=True, exist_ok=True)
    signing = SigningConfig(dev_dir=OUT / "c2pa")
    analyzer = FaceAnalyzer(detect_max_side=640)
    embedder = DlibFaceEmbedder()
    cameos = {}
    for name, photo in HELD_OUT.items():
        path = recordings.build(replace(recordings.GOOD, name=f"bench_{photo}", people=(photo,)))
        cameos[name] = identity_from_files(name.replace("t1_", "tone"), path, None)
    tom = cameos["tom_hanks"]

    # speed first, on a quiet engine: cold, then warm
    started = time.monotonic()
    engine = ReferenceStudioEngine.from_registry()
    speed_spec = parse_prompt(
        f"@{tom.handle} waves at the sea at sunset\n"
        f'@{tom.handle}: "What a beautiful evening by the sea, look at those waves."',
        defaults=PromptDefaults(seed=1, duration=8.0),
    )
    generate(speed_spec, {tom.handle: tom}, out_dir=OUT / "speed-cold", engine=engine, signing=signing)
    cold_s = time.monotonic() - started
    started, cpu_started = time.monotonic(), time.process_time()
    speed = generate(speed_spec, {tom.handle: tom}, out_dir=OUT / "speed", engine=engine, signing=signing)
    warm_s = time.monotonic() - started
    warm_cpu_s = time.process_time() - cpu_started  # every thread of this process
    print(f"speed: 8 s 720p with dialogue: warm {warm_s:.1f} s, cold {cold_s:.1f} s", flush=True)
    if args.speed_only:
        print(
            f"warm CPU {warm_cpu_s:.1f} s; load average before {load_before:.2f}, now {os.getloadavg()[0]:.2f}"
        )
        return

    def decoded(path: Path) -> np.ndarray:
        return np.stack(sample_frames(path, fps=24.0).frames)

    videos: list[tuple[str, Path]] = [("speed", speed.mp4_path)]
    # 1 + 2: identity and ghosting
    identity_rows, ghost_rows, sheet_rows = [], [], []
    for (name, cameo), place in zip(cameos.items(), PLACES, strict=True):
        handle = cameo.handle
        spec = SceneSpec(text=f"@{handle} {place}", duration=2.0, seed=3)
        rendered = generate(
            spec, {handle: cameo}, out_dir=OUT / f"identity-{handle}", engine=engine, signing=signing
        )
        videos.append((f"identity {name}", rendered.mp4_path))
        frames = decoded(rendered.mp4_path)
        accepted, heights, distances = 0, [], []
        for frame in frames:
            faces = analyzer.detect(frame)
            if not faces:
                continue
            distance = float(face_distance(embedder.embed(frame, faces[:1])[0], cameo.face_embedding))
            distances.append(distance)
            heights.append(faces[0].box.height)
            accepted += distance < 0.6
        identity_rows.append(
            (name, len(frames), accepted / len(frames), float(np.median(distances)) if distances else float("nan"),
             float(np.min(heights)) if heights else 0.0, float(np.median(heights)) if heights else 0.0,
             rendered.metadata.rendered_as)
        )  # fmt: skip
        plan = engine.plan(spec)[0]
        keyframes = engine.layout.generate(
            SceneSpec(text=plan.model_sentence(), duration=2.0, seed=3), {handle: cameo}
        ).frames
        assert keyframes is not None
        ghost_rows.append((name, blended_share(conform(keyframes, spec)), blended_share(frames)))
        if name == "tom_hanks":
            sheet_rows.append(frames[[6, 18, 30, 42]])
        print(identity_rows[-1], ghost_rows[-1], flush=True)
    # 3: cuts
    cut_rows = []
    first = cameos["t1_4"]
    for label, template, _ in CUT_PROMPTS:
        spec = replace(
            parse_prompt(template.format(a=first.handle), defaults=PromptDefaults(seed=5)),
            resolution=Resolution.P720,
        )
        rendered = generate(
            spec, {first.handle: first}, out_dir=OUT / f"cuts-{label[:6]}", engine=engine, signing=signing
        )
        videos.append((f"cuts {label}", rendered.mp4_path))
        frames = decoded(rendered.mp4_path)
        # a cut at every shot's start, and where the scene text takes over after the last shot if it shows
        # something else (another place or framing; the same one simply continues)
        drawn = rendered.metadata.shots
        expected = [
            round(drawn[i][0] * spec.fps) for i in range(1, len(drawn)) if drawn[i][2:] != drawn[i - 1][2:]
        ]
        found = cuts(frames)
        cut_rows.append(
            (label, expected, found, rendered.metadata.rendered_as, [s[2] for s in rendered.metadata.shots])
        )
        if label == "in vocabulary":
            sheet_rows.append(frames[[12, 36, 60, 84]])
        print(cut_rows[-1], flush=True)
    # 4: dialogue with two voices, WER per voice
    a, b = cameos["t1_3"], cameos["t1_6"]
    spec = parse_prompt(
        DIALOGUE.format(a=a.handle, b=b.handle), defaults=PromptDefaults(seed=2, duration=6.0)
    )
    rendered = generate(
        spec, {a.handle: a, b.handle: b}, out_dir=OUT / "dialogue", engine=engine, signing=signing
    )
    videos.append(("dialogue", rendered.mp4_path))
    sheet_rows.append(decoded(rendered.mp4_path)[[10, 50, 90, 130]])
    recognizer = SpeechRecognizer(AsrConfig(initial_prompt=None))
    audio = extract_audio(rendered.mp4_path)
    voices = {**product_data(speed.manifest)["voices"], **product_data(rendered.manifest)["voices"]}
    wer_rows = []
    for line in [*spec.dialogue, *speed_spec.dialogue]:
        source = audio if line in spec.dialogue else extract_audio(speed.mp4_path)
        piece = source[int(line.start * 16_000) : int(line.end * 16_000)]  # the line's own window
        heard = recognizer.transcribe(piece).text
        voice = voices.get(line.speaker, "?")
        wer_rows.append((line.speaker, voice, line.text, heard, wer(line.text, heard)))
        print(wer_rows[-1], flush=True)
    # sound of every video
    sound_rows = []
    for label, path in videos:
        track = extract_audio(path)
        sound_rows.append((label, float(np.abs(track).max()), float(np.sqrt(np.mean(track**2)))))
    # contact sheet: three prompts, four frames each
    sheet = np.concatenate(
        [np.concatenate([cv2.resize(f, (360, 640), interpolation=cv2.INTER_AREA) for f in row], axis=1) for row in sheet_rows],
        axis=0,
    )  # fmt: skip
    cv2.imwrite(str(OUT / "contact-sheet.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    small = cv2.resize(sheet, (sheet.shape[1] // 3, sheet.shape[0] // 3), interpolation=cv2.INTER_AREA)
    DOCS_SHEET.parent.mkdir(exist_ok=True)
    cv2.imwrite(str(DOCS_SHEET), cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])

    # the section
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        SECTION,
        "",
        f"`HF_HUB_OFFLINE=1 nice .venv/bin/python bench/engine_video.py` ({when}; {platform.processor() or platform.machine()}, "
        f"{args.threads} torch threads, load average {load_before:.1f} at the start: the machine was shared). "
        "Every figure is on the mp4 `ml.generate.generate` writes (720p unless said), decoded back. Method: the "
        "script's docstring.",
        "",
        "Identity: the platform's verifier (dlib, L2 < 0.6) on every frame of a 2 s 720p 9:16 video per held-out person "
        "(a frame with no face found counts as rejected); face height is dlib's box in output pixels.",
        "",
        "| held-out person | frames | accepted | median L2 | face height min / median (px) | rendered as |",
        "|---|---|---|---|---|---|",
        *(
            f"| {n} | {f} | {s:.0%} | {d:.3f} | {lo:.0f} / {mid:.0f} | {r} |"
            for n, f, s, d, lo, mid, r in identity_rows
        ),
        "",
        "Ghosting (share of frames that are a crossfade of their neighbours), same specs: before = the DiT's 8 frames "
        "conformed to 24 fps by crossfades (the previous pipeline); after = the two-stage engine's frames.",
        "",
        "| held-out person | before | after |",
        "|---|---|---|",
        *(f"| {n} | {b:.0%} | {a:.0%} |" for n, b, a in ghost_rows),
        "",
        "Shot cuts (frames whose mean grey change from the previous is over 25 levels), against the shots' starts "
        "(and the start of the scene text's stretch after the last shot, when it shows another place or framing):",
        "",
        "| prompt | cuts expected at frame | cuts found | framing per shot | rendered as |",
        "|---|---|---|---|---|",
        *(f"| {label} | {e} | {f} | {', '.join(fr)} | {r} |" for label, e, f, r, fr in cut_rows),
        "",
        "Dialogue heard back by the project's ASR (Whisper tiny.en) on each line's own window of the mp4's sound "
        "(music and ambience under it), per line and voice:",
        "",
        "| speaker | voice | line | heard | WER |",
        "|---|---|---|---|---|",
        *(f"| @{s} | {v} | {t} | {h.strip()} | {w:.0%} |" for s, v, t, h, w in wer_rows),
        "",
        "Sound: every video rendered here has a sound track that is not silent:",
        "",
        "| video | peak | RMS |",
        "|---|---|---|",
        *(f"| {label} | {peak:.3f} | {rms:.4f} |" for label, peak, rms in sound_rows),
        "",
        f"Speed: an 8 s 720p 9:16 video with one dialogue line, end to end (sound, layout model, render, lip motion, "
        f"watermark, encode, sign, fingerprint): **{warm_s:.1f} s** wall with the engine loaded "
        f"({8.0 / warm_s:.2f}x real time on the shared machine), using **{warm_cpu_s:.1f} CPU-seconds** (all "
        f"threads of the process; {8.0 / warm_cpu_s:.2f}x real time if it had the cores to itself); the "
        f"process's first call, loading the models, {cold_s:.1f} s wall.",
        "",
        "Contact sheet (`bench/out/contact-sheet.png`, a third of it in `docs/contact-sheet.png`): rows are "
        "Tom Hanks on a beach at sunset; a wide shot on the moon cut to a close-up in the snow; two people "
        "talking in a city street.",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if not args.no_write:
        from bench.results_file import write_section

        write_section(SECTION, section)


if __name__ == "__main__":
    main()
