"""Identity and scene adherence of the reference video model (``ml.generation.reference``), on CPU.

Run: ``HF_HUB_OFFLINE=1 nice .venv/bin/python bench/generation_identity.py [--scenes 8] [--no-write]``
(a few minutes; never run by the test suite). Uses the shipped checkpoint through
``ReferenceEngine.from_registry()``, or ``--checkpoint DIR`` (a training folder) instead.

1. Identities: the five held-out real faces (``faces.HELD_OUT``: Tom Hanks and the four rightmost faces of
   insightface's ``t1.jpg``), never seen in training. Each is a cameo: its 150x150 aligned chip is the
   reference face, its dlib embedding of that chip the face embedding.
2. Videos: for each identity, ``--scenes`` one-person scenes drawn from the corpus vocabulary (seeded),
   written as a spec (``@handle`` in place of "a person"), generated four times (``MODES``): conditioned on
   the right identity; "shuffled", conditioned on the next held-out identity (the wrong one) while scoring
   against the right one; and two ablations, the right face with the wrong embedding ("face only") and the
   right embedding with a blank face ("embedding only"). Plus two-person scenes pairing the identities
   (conditioned only).
3. Faces in the 64x64 frames, two ways, both embedded with dlib's ResNet:
   a. detected: each frame upscaled 4x (bicubic, to 256x256), dlib HOG detection with one upsampling,
      68 landmarks and an aligned 150x150 chip (``FaceAnalyzer``), the largest face kept; a video's
      embedding is the mean over the frames with a detection; a video with none counts as a miss;
   b. layout crop: the 32x32 head square where the corpus puts a head for the prompted motion at that frame
      (``corpus.head_positions``), resized to 150x150 and fed to dlib as an aligned chip; mean over frames.
   Retrieval: the nearest (L2) of the five held-out cameo embeddings; top-1 accuracy (chance 20%).
   Ceiling: the cameo's own chip shrunk to 32 px and back (the resolution the model draws faces at).
4. Scene adherence: logistic-regression probes (place, sky colour, camera, motion) trained on 600 corpus
   clips rendered with training faces, on each clip's frames pooled to 8x8 (1,536 features); accuracy on
   300 held-out corpus clips (the probe's ceiling) and on the generated videos, against what was prompted.
5. Speed: wall time of ``generate`` at the default steps, frames per second of output, on this CPU.

Writes the "## Generation engine: identity and scene adherence (engine issue)" section of
``bench/RESULTS.md``, keeping the other sections.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

SECTION = "## Generation engine: identity and scene adherence (engine issue)"
RESULTS = REPO_ROOT / "bench" / "RESULTS.md"
UPSCALE = 4  # frames are upscaled this much before dlib's HOG detector (it needs faces of ~80 px)
PROBE_TRAIN, PROBE_TEST = 600, 300  # corpus clips the scene probes train and are checked on
# What each one-person video is conditioned on: the cameo's own face and embedding, then ablations: the
# face with the next held-out person's embedding, the embedding with a blank grey face, and both of the
# next person (every video is scored against the cameo the scene names).
MODES = ("conditioned", "face only", "embedding only", "shuffled")


def spec_for(labels, handles: list[str], seed: int):
    """A SceneSpec whose prompt the engine turns back into the corpus sentence for ``labels``."""
    from ml.generation.reference import corpus
    from ml.scene import SceneSpec

    text = corpus.prompt_for(labels)
    if len(handles) == 2:
        text = text.replace("A person and another person", f"@{handles[0]} and @{handles[1]}", 1)
        text = text.replace("a person and another person", f"@{handles[0]} and @{handles[1]}", 1)
    else:
        text = text.replace("A person", f"@{handles[0]}", 1).replace("a person", f"@{handles[0]}", 1)
    return SceneSpec(text=text, duration=4.0, seed=seed)


def pooled_features(frames: np.ndarray) -> np.ndarray:
    """(F, 64, 64, 3) uint8 -> (F*8*8*3,) float32: each frame averaged over 8x8 blocks."""
    f, h, w, c = frames.shape
    blocks = frames.reshape(f, 8, h // 8, 8, w // 8, c).astype(np.float32).mean(axis=(2, 4))
    return blocks.reshape(-1) / 255.0


def embed_detected(analyzer, embedder, frames: np.ndarray) -> tuple[np.ndarray | None, int]:
    """Mean dlib embedding of the largest detected face over the frames, and how many frames had one."""
    from PIL import Image

    found = []
    for frame in frames:
        big = np.asarray(
            Image.fromarray(frame).resize(
                (frame.shape[1] * UPSCALE, frame.shape[0] * UPSCALE), Image.Resampling.BICUBIC
            )
        )
        faces = analyzer.detect(big, upsample=1)
        if faces:
            found.append(embedder.embed(big, faces[:1])[0])
    return (np.mean(found, axis=0) if found else None), len(found)


def embed_layout(frames: np.ndarray, motion: str, people: int, person: int) -> np.ndarray:
    """Mean dlib embedding of the corpus head square of ``person`` over the frames."""
    from PIL import Image

    from ml.generation.reference import corpus, faces

    positions = corpus.head_positions(motion, people)  # (F, P, 2)
    chips = []
    for f, frame in enumerate(frames):
        x, y = positions[f, person]
        tile = frame[y : y + corpus.FACE, x : x + corpus.FACE]
        chips.append(
            np.asarray(Image.fromarray(tile).resize((faces.CHIP, faces.CHIP), Image.Resampling.BICUBIC))
        )
    return faces.embed_chips(chips).mean(axis=0)


def retrieval(embedding: np.ndarray | None, gallery: np.ndarray, truth: int) -> tuple[bool, float]:
    """(nearest gallery entry is ``truth``, L2 distance to ``truth``); a missing embedding is a miss."""
    if embedding is None:
        return False, float("nan")
    distances = np.linalg.norm(gallery - embedding, axis=1)
    return int(distances.argmin()) == truth, float(distances[truth])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenes", type=int, default=8, help="one-person scenes per held-out identity")
    parser.add_argument("--pairs", type=int, default=10, help="two-person scenes")
    parser.add_argument("--checkpoint", type=Path, help="a training folder instead of the shipped weights")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only, leave bench/RESULTS.md alone")
    args = parser.parse_args()
    args.load_before = os.getloadavg()[0]

    import torch
    from PIL import Image
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ml import registry
    from ml.generation.engine import Identity
    from ml.generation.reference import ReferenceEngine, corpus, faces
    from ml.generation.reference.engine import load_checkpoint
    from ml.generation.reference.text import TextEncoder
    from ml.identity.face import DlibFaceEmbedder, FaceAnalyzer

    torch.set_num_threads(args.threads)
    # 1. engine and held-out identities
    started = time.perf_counter()
    if args.checkpoint:
        engine = ReferenceEngine(
            load_checkpoint(args.checkpoint),
            TextEncoder.shared().encode,
            checkpoint_sha256=registry.sha256_of(args.checkpoint / "model.safetensors"),
        )
    else:
        engine = ReferenceEngine.from_registry()
    load_s = time.perf_counter() - started
    held = faces.held_out_faces()
    gallery = np.stack([face.embedding for face in held])  # (5, 128)
    identities = [
        Identity(handle=face.name, face_embedding=face.embedding, reference_faces=(face.chip,))
        for face in held
    ]
    analyzer, embedder = FaceAnalyzer(detect_max_side=10_000), DlibFaceEmbedder()
    ceiling = []
    for index, face in enumerate(held):
        small = Image.fromarray(face.chip).resize((corpus.FACE, corpus.FACE), Image.Resampling.BICUBIC)
        chip = np.asarray(small.resize((faces.CHIP, faces.CHIP), Image.Resampling.BICUBIC))
        ceiling.append(retrieval(faces.embed_chips([chip])[0], gallery, index))

    # 2. videos: one-person scenes, conditioned and shuffled; two-person scenes
    rng = np.random.default_rng(2026)
    singles = [labels for labels in corpus.vocabulary() if labels.people == 1]
    couples = [labels for labels in corpus.vocabulary() if labels.people == 2]
    rows: dict[str, list] = {mode: [] for mode in MODES}
    grey = np.full_like(held[0].chip, 128)  # a reference "face" with nothing in it
    generated: list[tuple[np.ndarray, object]] = []
    timings = []
    for truth in range(len(held)):
        for _ in range(args.scenes):
            labels = singles[int(rng.integers(len(singles)))]
            seed = int(rng.integers(2**31))
            other = (truth + 1) % len(held)
            for mode in MODES:
                face, embedding = {
                    "conditioned": (held[truth].chip, held[truth].embedding),
                    "face only": (held[truth].chip, held[other].embedding),
                    "embedding only": (grey, held[truth].embedding),
                    "shuffled": (held[other].chip, held[other].embedding),
                }[mode]
                handle = held[truth].name
                spec = spec_for(labels, [handle], seed)
                identity = Identity(handle=handle, face_embedding=embedding, reference_faces=(face,))
                tic = time.perf_counter()
                video = engine.generate(spec, {handle: identity})
                if mode == "conditioned":
                    timings.append(time.perf_counter() - tic)
                frames = video.frames
                assert frames is not None
                detected, hits = embed_detected(analyzer, embedder, frames)
                assert labels.motion is not None
                layout = embed_layout(frames, labels.motion, 1, 0)
                rows[mode].append(
                    (truth, retrieval(detected, gallery, truth), hits, retrieval(layout, gallery, truth))
                )
                if mode == "conditioned":
                    generated.append((frames, labels))
    pair_hits = []
    for _ in range(args.pairs):
        first, second = rng.choice(len(held), size=2, replace=False)
        labels = couples[int(rng.integers(len(couples)))]
        spec = spec_for(labels, [held[first].name, held[second].name], int(rng.integers(2**31)))
        video = engine.generate(
            spec, {held[first].name: identities[first], held[second].name: identities[second]}
        )
        assert video.frames is not None and labels.motion is not None
        generated.append((video.frames, labels))
        for person, truth in enumerate((first, second)):
            pair_hits.append(
                retrieval(embed_layout(video.frames, labels.motion, 2, person), gallery, int(truth))[0]
            )

    # 4. scene probes, trained on corpus clips with training faces
    bank = [face for face in faces.training_faces(morphs=0) if face.source == "real"]
    generator = corpus.SceneGenerator(bank, seed=1)
    probe_rng = np.random.default_rng(3)
    clips = [generator.sample(probe_rng)[0] for _ in range(PROBE_TRAIN + PROBE_TEST)]
    x_corpus = np.stack([pooled_features(clip.frames) for clip in clips])
    x_generated = np.stack([pooled_features(frames) for frames, _ in generated])
    probes = {}
    for attribute in ("place", "colour", "camera", "motion"):
        keep = [i for i, clip in enumerate(clips) if getattr(clip.labels, attribute) is not None]
        train_idx = [i for i in keep if i < PROBE_TRAIN]
        test_idx = [i for i in keep if i >= PROBE_TRAIN]
        y = np.array([str(getattr(clip.labels, attribute)) for clip in clips])
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.1))
        probe.fit(x_corpus[train_idx], y[train_idx])
        corpus_acc = float((probe.predict(x_corpus[test_idx]) == y[test_idx]).mean())
        y_gen = np.array([str(getattr(labels, attribute)) for _, labels in generated])
        gen_acc = float((probe.predict(x_generated) == y_gen).mean())
        probes[attribute] = (corpus_acc, gen_acc, 1.0 / len(set(y[train_idx])))

    # 5. report
    frames_per_video = engine.config.frames
    median_s = float(np.median(timings))
    summary = {
        mode: {
            "detected_top1": float(np.mean([r[1][0] for r in rs])),
            "detected_dist": float(np.nanmean([r[1][1] for r in rs]))
            if any(r[2] for r in rs)
            else float("nan"),
            "frames_with_face": float(np.mean([r[2] for r in rs]) / frames_per_video),
            "layout_top1": float(np.mean([r[3][0] for r in rs])),
            "layout_dist": float(np.mean([r[3][1] for r in rs])),
        }
        for mode, rs in rows.items()
    }
    per_identity = {
        held[i].name: float(np.mean([r[3][0] for r in rows["conditioned"] if r[0] == i]))
        for i in range(len(held))
    }
    text = section(
        args, engine, load_s, summary, per_identity, ceiling, pair_hits, probes, median_s, len(generated)
    )
    print(text)
    if not args.no_write:
        write_section(text)
        print(f"wrote {SECTION!r} in {RESULTS}")


def section(args, engine, load_s, summary, per_identity, ceiling, pair_hits, probes, median_s, videos) -> str:
    c = engine.config
    target = summary["conditioned"]["detected_top1"] >= 0.8
    layout_target = summary["conditioned"]["layout_top1"] >= 0.8
    lines = [
        SECTION,
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `bench/generation_identity.py --scenes {args.scenes} "
        f"--pairs {args.pairs}{' --checkpoint ' + str(args.checkpoint) if args.checkpoint else ''}`, "
        f"{platform.machine()}, {os.cpu_count()} cores (shared; load average {args.load_before:.1f} at the "
        f"start, {os.getloadavg()[0]:.1f} at the end), CPU only, "
        f"torch {args.threads} threads, Python {platform.python_version()}. Engine `{engine.name}`, checkpoint "
        f"sha256 `{engine.checkpoint_sha256[:16]}...`: {c.frames} frames of {c.size}x{c.size}, "
        f"{engine.sampler.steps} flow-matching Euler steps (shift {engine.sampler.shift}).",
        "",
        "Held-out identities (never trained on, not even as morph parents): "
        + ", ".join(f"`{name}`" for name in per_identity)
        + ". Each video is scored against the cameo the scene names; *shuffled* videos were conditioned on "
        "the next held-out identity instead (the wrong face and embedding), so they measure what the "
        "conditioning contributes; *face only* keeps the cameo's face but gives the next person's "
        "embedding, *embedding only* keeps the embedding but gives a blank grey face, so they show which "
        "of the two paths carries the likeness. Retrieval is top-1 among the 5 held-out cameos (chance 20%).",
        "",
        "| one-person videos | n | top-1, detected faces | dlib L2 to cameo, detected | frames with a face detected | top-1, layout crop | dlib L2 to cameo, layout crop |",
        "|---|---|---|---|---|---|---|",
    ]
    n = args.scenes * len(per_identity)
    for mode in MODES:
        s = summary[mode]
        lines.append(
            f"| {mode} | {n} | {s['detected_top1']:.0%} | {s['detected_dist']:.3f} | {s['frames_with_face']:.0%} "
            f"| {s['layout_top1']:.0%} | {s['layout_dist']:.3f} |"
        )
    ceiling_top1 = np.mean([hit for hit, _ in ceiling])
    ceiling_dist = np.mean([dist for _, dist in ceiling])
    lines += [
        f"| ceiling: the cameo's chip shrunk to {c.face_size} px and back | 5 | - | - | - | {ceiling_top1:.0%} | {ceiling_dist:.3f} |",
        "",
        f"Target top-1 >= 80% (detected faces): {'met' if target else 'NOT met'} "
        f"({summary['conditioned']['detected_top1']:.0%}); by layout crop: {'met' if layout_target else 'NOT met'} "
        f"({summary['conditioned']['layout_top1']:.0%}). Per identity (layout crop, conditioned): "
        + ", ".join(f"{name} {acc:.0%}" for name, acc in per_identity.items())
        + f". Two-person scenes ({args.pairs}, both people held-out, layout crop per person): "
        f"{np.mean(pair_hits):.0%} of the {len(pair_hits)} faces retrieved as the right person.",
        "",
        "How faces were found: *detected*: each 64x64 frame upscaled 4x (bicubic) to 256x256, dlib HOG "
        "detector (1 upsampling) + 68 landmarks + aligned 150x150 chip, largest face, dlib ResNet embedding, "
        "mean over the frames with a detection (a video with none counts as a miss); *layout crop*: the 32x32 "
        "square where the corpus places the head for the prompted motion and frame, resized to 150x150 and "
        "embedded as an aligned chip, mean over the 8 frames.",
        "",
        f"Scene adherence on the {videos} generated videos (one- and two-person): logistic-regression probes "
        f"on 8x8-pooled frames, trained on {PROBE_TRAIN} corpus clips, checked on {PROBE_TEST} other corpus "
        "clips (the probe's ceiling) and on the generated videos against what the prompt asked for.",
        "",
        "| attribute | probe on corpus clips | probe on generated videos | chance |",
        "|---|---|---|---|",
    ]
    for attribute, (corpus_acc, gen_acc, chance) in probes.items():
        lines.append(f"| {attribute} | {corpus_acc:.0%} | {gen_acc:.0%} | {chance:.0%} |")
    lines += [
        "",
        f"Speed: median {median_s:.2f} s per `generate` ({c.frames} frames, {engine.sampler.steps} steps, text "
        f"encoding included) = **{c.frames / median_s:.1f} frames/s** at {c.size}x{c.size} on this CPU; engine "
        f"load (checkpoint + MiniLM) {load_s:.1f} s.",
        "",
    ]
    return "\n".join(lines)


def write_section(section_text: str) -> None:
    import results_file  # bench/, this script\'s folder, is on sys.path

    results_file.write_section(SECTION, section_text)


if __name__ == "__main__":
    main()
