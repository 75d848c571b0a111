"""A scene and its cameos in, a finished, signed video out: the one function the generation worker calls.

``generate`` runs the engine for the frames, then everything that makes them a video people can post:

1. check inputs;
2. the engine's frames (progress 0 to 0.8, scaled from the engine's own; cancel passed through);
3. conform: resample to spec.fps over spec.duration, upscale to the spec's size (resolution x aspect);
4. soundtrack: dialogue in each cameo's matched voice, the cues, a limiter (``ml.audio.mix``);
5. lip sync: mouths driven by the speech (``ml.audio.lipsync``);
6. the visible moving watermark;
7. encode H.264 + AAC mp4;
8. sign with a C2PA manifest (AI-generated, engine, checkpoint, cameos);
9. fingerprint (frames + audio) of the signed file, decoded back;
10. poster JPEG.

``should_cancel`` is polled by the engine between its steps and here between every two stages; a cancel
after the engine raises ``RenderCanceled`` (a ``GenerationCanceled``) and leaves no file behind.

Output size: the spec's resolution and aspect exactly (720p 9:16 is 720x1280); frames are held in memory
at that size, ``F * W * H * 3`` bytes (8 s at 24 fps and 720p: 0.53 GB), so a 20 s 60 fps 1080p scene
needs ~7.5 GB: the worker's memory, not this code, is the limit there.

Also ``python -m ml.generate --prompt "..." --face a.jpg --voice a.wav -o out.mp4`` (see ``main``).
"""

from __future__ import annotations

import argparse
import functools
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ml.audio.intents import intended_cues
from ml.audio.lipsync import apply_lipsync, speech_levels
from ml.audio.mix import render_soundtrack
from ml.audio.tts import EspeakSynthesizer
from ml.generation.engine import (
    CancelCheck,
    GenerationCanceled,
    GenerationMetadata,
    Identity,
    ProgressCallback,
    VideoEngine,
    check_identities,
)
from ml.media.encode import write_mp4
from ml.provenance import c2pa as provenance
from ml.provenance.c2pa import Featured, SigningConfig
from ml.provenance.fingerprint import fingerprint_file
from ml.provenance.watermark import WATERMARK_TEXT, apply_watermark
from ml.scene import SceneSpec, frame_size

ENGINE_SHARE = 0.8  # of the progress bar: the engine's own progress is scaled into [0, 0.8]
MP4_NAME, POSTER_NAME = "video.mp4", "poster.jpg"
# progress at the end of each later stage
STAGE_PROGRESS = {
    "conforming": 0.82,
    "sound": 0.86,
    "lipsync": 0.9,
    "watermark": 0.91,
    "encoding": 0.94,
    "signing": 0.96,
    "fingerprint": 0.99,
}

__all__ = ["RenderCanceled", "RenderedVideo", "SigningConfig", "generate", "output_size"]


@dataclass(frozen=True)
class RenderedVideo:
    mp4_path: Path  # signed H.264 + AAC mp4
    poster_path: Path  # JPEG poster frame
    metadata: GenerationMetadata
    manifest: dict  # what the C2PA manifest records (JSON-safe)
    fingerprint: str  # serialised fingerprint (ml.provenance.fingerprint)
    transcript: tuple[str, ...]  # the dialogue lines as spoken, for output checks
    duration: float


class RenderCanceled(GenerationCanceled):
    """``should_cancel()`` said stop after the engine had finished, before ``stage``."""

    def __init__(self, stage: str, steps: int) -> None:
        super().__init__(steps, steps)
        self.stage = stage
        self.args = (f"generation canceled before {stage}, after all {steps} denoising steps",)


def output_size(spec: SceneSpec) -> tuple[int, int]:
    """(width, height) of the finished video (`ml.scene.frame_size`, which the share page's tags read too)."""
    return frame_size(spec.resolution, spec.aspect)


def conform(frames: np.ndarray, spec: SceneSpec) -> np.ndarray:
    """Engine frames (F, h, w, 3) spanning spec.duration -> (spec.frame_count, H, W, 3) at spec.fps and
    ``output_size``: linear blends between neighbouring frames in time, a centre crop to the aspect, then
    bicubic upscaling."""
    source_count, source_h, source_w, _ = frames.shape
    width, height = output_size(spec)
    # 1. the centre crop that has the output's aspect
    if source_w * height > source_h * width:
        crop_w, crop_h = round(source_h * width / height), source_h
    else:
        crop_w, crop_h = source_w, round(source_w * height / width)
    left, top = (source_w - crop_w) // 2, (source_h - crop_h) // 2
    # 2. per output frame: its time, the two source frames around it, blend, resize
    out = np.empty((spec.frame_count, height, width, 3), dtype=np.uint8)  # (F', H, W, 3)
    for index in range(spec.frame_count):
        position = min(index / spec.fps * source_count / spec.duration, source_count - 1)
        before = int(position)
        after = min(before + 1, source_count - 1)
        weight = position - before
        frame = frames[before, top : top + crop_h, left : left + crop_w]
        if weight > 1e-3:
            following = frames[after, top : top + crop_h, left : left + crop_w]
            frame = cv2.addWeighted(frame, 1.0 - weight, following, weight, 0.0)
        out[index] = cv2.resize(np.ascontiguousarray(frame), (width, height), interpolation=cv2.INTER_CUBIC)
    return out


@functools.lru_cache(maxsize=1)
def default_synthesizer() -> EspeakSynthesizer:
    """One per process, so a cameo's voice match (a few seconds) is found once per worker."""
    return EspeakSynthesizer()


def default_engine() -> VideoEngine:
    from ml.generation.reference.studio import ReferenceStudioEngine  # heavy: torch and the weights

    engine: VideoEngine = ReferenceStudioEngine.from_registry()
    return engine


def _check_inputs(
    spec: SceneSpec, identities: Mapping[str, Identity], out_dir: Path, cameo_ids: Mapping[str, str] | None
) -> None:
    if not isinstance(spec, SceneSpec):
        raise ValueError(f"spec must be a SceneSpec, not {type(spec).__name__}")
    check_identities(spec, identities)
    unknown = sorted(set(cameo_ids or {}) - set(spec.mentions))
    if unknown:
        raise ValueError(
            f"cameo_ids given for {', '.join('@' + h for h in unknown)}, not mentioned in the scene"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"out_dir {out_dir} exists and is not a folder")


def generate(
    spec: SceneSpec,
    identities: Mapping[str, Identity],
    *,
    out_dir: Path,
    engine: VideoEngine | None = None,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    signing: SigningConfig | None = None,
    cameo_ids: Mapping[str, str] | None = None,
) -> RenderedVideo:
    """Render ``spec`` with ``identities`` into ``out_dir`` (video.mp4, poster.jpg); see the module docstring.

    ``engine``: default ``ml.generation.reference.ReferenceEngine.from_registry()``. ``signing``: default
    the development CA in var/c2pa/. ``cameo_ids``: handle -> the service's cameo id, for the manifest.
    Raises ValueError naming a bad input, GenerationCanceled (``RenderCanceled`` after the engine) when
    ``should_cancel()`` returns True.
    """
    out_dir = Path(out_dir)
    report = progress or (lambda fraction, stage: None)
    cancel = should_cancel or (lambda: False)
    # 1. check inputs
    _check_inputs(spec, identities, out_dir, cameo_ids)
    out_dir.mkdir(parents=True, exist_ok=True)
    engine = engine or default_engine()
    renders_output = bool(getattr(engine, "renders_output", False))
    # the soundtrack first: an engine that draws mouths itself needs the speech's loudness per frame; sound
    # the prompt asks for in its own words, and the place's ambience when nothing else was asked for
    speakers = {line.speaker for line in spec.dialogue}
    voices = {handle: identities[handle].voice_embedding for handle in spec.mentions if handle in speakers}
    plan = getattr(engine, "plan", None)
    place = plan(spec)[0].place if callable(plan) else None
    implied = intended_cues(spec, place)
    soundtrack = render_soundtrack(replace(spec, cues=spec.cues + implied), voices, default_synthesizer())
    if cancel():
        raise GenerationCanceled(0, 0)
    # 2. the engine's frames; its progress fills the first 80 %
    engine_progress = lambda f, stage: report(  # noqa: E731
        ENGINE_SHARE * f,
        "frames" if stage == "done" else stage,  # the engine's "done" is not the render's
    )
    if renders_output:
        levels = speech_levels(soundtrack.lines, soundtrack.sample_rate, spec.fps, spec.frame_count)
        video = engine.generate(  # type: ignore[call-arg]
            spec, identities, progress=engine_progress, should_cancel=cancel, speech=levels
        )
    else:
        video = engine.generate(spec, identities, progress=engine_progress, should_cancel=cancel)
    steps = video.metadata.steps

    def stage_done(stage: str, next_stage: str) -> None:
        report(STAGE_PROGRESS[stage], stage)
        if cancel():
            raise RenderCanceled(next_stage, steps)

    if cancel():
        raise RenderCanceled("conforming", steps)
    frames = video.frames if video.frames is not None else _decode_frames(video.mp4_path)
    # 3. conform to the spec's fps, duration and size (an engine that renders the output is already there)
    if frames.shape[:3] != (spec.frame_count, *output_size(spec)[::-1]):
        frames = conform(frames, spec)
    stage_done("conforming", "sound")
    # 4. soundtrack (rendered above)
    stage_done("sound", "lipsync")
    # 5. lip sync: mouths driven by the speech, unless the engine drew them from the cameo's recording
    if renders_output:
        lipsync_report: tuple[str, ...] = tuple(
            f"@{handle}: mouth from the cameo's own frames, chosen by the speech's loudness per frame"
            for handle in sorted(speakers)
        )
    else:
        synced = apply_lipsync(
            frames,
            spec.fps,
            soundtrack.lines,
            soundtrack.sample_rate,
            speakers=spec.mentions,
            face_embeddings={handle: identity.face_embedding for handle, identity in identities.items()},
        )
        frames = synced.frames
        lipsync_report = synced.report
    stage_done("lipsync", "watermark")
    # 6. watermark
    frames = apply_watermark(frames, spec.fps)
    stage_done("watermark", "encoding")
    # 7. encode
    unsigned = out_dir / f".unsigned.{MP4_NAME}"
    try:
        write_mp4(unsigned, frames, fps=spec.fps, audio=soundtrack.audio, sample_rate=soundtrack.sample_rate)
        stage_done("encoding", "signing")
        # 8. sign
        metadata = replace(video.metadata, fps=float(spec.fps))
        manifest = provenance.build_manifest(
            title=MP4_NAME,
            engine=metadata.engine,
            checkpoint_sha256=metadata.checkpoint_sha256,
            featured=[Featured(handle, (cameo_ids or {}).get(handle)) for handle in spec.mentions],
            seed=spec.seed,
            extra={
                "watermark": WATERMARK_TEXT,
                "output_size": "{}x{}".format(*output_size(spec)),  # text: CBOR stores int lists as bytes
                "voices": dict(soundtrack.voices),
                "lipsync": list(lipsync_report),
                "sound_from_prompt_words": [f"{cue.kind.value}: {cue.description}" for cue in implied],
                **_made_of(metadata),
            },
        )
        mp4_path = provenance.sign_mp4(unsigned, out_dir / MP4_NAME, manifest, signing or SigningConfig())
    finally:
        unsigned.unlink(missing_ok=True)  # signed, failed or canceled: the unsigned copy never stays
    poster_path = out_dir / POSTER_NAME
    try:
        stage_done("signing", "fingerprint")
        # 9. fingerprint of what was published (decoded back, as a re-upload will be)
        fingerprint = fingerprint_file(mp4_path).serialise()
        stage_done("fingerprint", "poster")
        # 10. poster: the middle frame, watermark included
        Image.fromarray(frames[len(frames) // 2]).save(poster_path, format="JPEG", quality=88)
    except RenderCanceled:
        mp4_path.unlink(missing_ok=True)  # a canceled render publishes nothing
        raise
    report(1.0, "done")
    return RenderedVideo(
        mp4_path=mp4_path,
        poster_path=poster_path,
        metadata=metadata,
        manifest=manifest,
        fingerprint=fingerprint,
        transcript=tuple(
            text
            for _, text in sorted(
                [(d.start, d.text) for d in spec.dialogue] + [(n.start, n.text) for n in spec.narration]
            )
        ),
        duration=spec.duration,
    )


def _made_of(metadata: GenerationMetadata) -> dict[str, object]:
    """What the manifest says was generated and what composited, when the engine said (JSON-safe)."""
    made: dict[str, object] = {}
    if metadata.rendered_as:
        made["rendered_as"] = metadata.rendered_as
    if metadata.generated:
        made["generated"] = list(metadata.generated)
    if metadata.composited:
        made["composited"] = list(metadata.composited)
    return made


def _decode_frames(path: Path | None) -> np.ndarray:
    from ml.media.decode import sample_frames
    from ml.media.probe import probe

    if path is None:
        raise ValueError("the engine returned neither frames nor an mp4")
    info = probe(path)
    assert info.video is not None
    return np.stack(sample_frames(path, fps=info.video.fps, info=info).frames)


# ---- the command line


VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".mkv")


def identity_from_files(handle: str, face_path: Path, voice_path: Path | None) -> Identity:
    """A cameo from a photo or a recording (a video: its clearest frame gives the dlib embedding and the
    aligned crop, and the engine cuts the person out of the recording itself) and an optional voice
    recording (a video's own sound is used when no voice file is given and it holds enough speech)."""
    from ml.identity.face import DlibFaceEmbedder, FaceAnalyzer

    recording = face_path if face_path.suffix.lower() in VIDEO_SUFFIXES else None
    if recording is not None:
        from ml.media.decode import sample_frames

        images = list(sample_frames(recording, fps=2.0, max_side=960, max_frames=12).frames)
    else:
        images = [np.asarray(Image.open(face_path).convert("RGB"))]
    analyzer = FaceAnalyzer(detect_max_side=1024)
    found = []
    for image in images:
        faces = analyzer.detect(image, upsample=1 if max(image.shape[:2]) < 400 else 0)
        if faces:
            found.append((faces[0].quality.sharpness * faces[0].box.area, image, faces[0]))
    if not found:
        raise ValueError(f"no face found in {face_path}")
    _, image, face = max(found, key=lambda item: item[0])
    embedding = DlibFaceEmbedder().embed(image, [face])[0]
    voice = None
    if voice_path is not None:
        voice = voice_embedding_from_file(voice_path)
    elif recording is not None:
        from ml.media import MediaError

        try:
            voice = voice_embedding_from_file(recording)
        except (ValueError, MediaError):
            voice = None  # too little speech to know the voice: the synthesizer's neutral voice
    return Identity(
        handle=handle,
        face_embedding=embedding,
        reference_faces=(face.chip,),
        voice_embedding=voice,
        recording=recording,
    )


def voice_embedding_from_file(path: Path) -> np.ndarray:
    """The speaker's voice embedding from a sound file, or from a video's sound track."""
    from scipy import signal

    from ml.identity.voice import SAMPLE_RATE, VoiceEmbedder

    if path.suffix.lower() in VIDEO_SUFFIXES:
        from ml.media.decode import extract_audio

        audio = extract_audio(path)  # mono float32 at 16 kHz
        rate = SAMPLE_RATE
    else:
        import soundfile

        audio, rate = soundfile.read(path, dtype="float32")
        if audio.ndim > 1:
            audio = audio.mean(axis=1)
    divisor = int(np.gcd(rate, SAMPLE_RATE))
    audio = signal.resample_poly(audio, SAMPLE_RATE // divisor, rate // divisor).astype(np.float32)
    result = VoiceEmbedder().embed(audio)
    if result.embedding is None:
        raise ValueError(f"{path}: only {result.speech_s:.1f} s of speech, too little to know the voice")
    return result.embedding


def parse_scene(
    prompt: str,
    seed: int | None,
    *,
    duration: float | None = None,
    resolution: str | None = None,
    aspect: str | None = None,
) -> SceneSpec:
    """The product's prompt parser; ``duration``, ``resolution`` and ``aspect`` are defaults the prompt's
    own settings (``duration: 4s``) override."""
    from ml.prompt import PromptDefaults, parse_prompt
    from ml.scene import Aspect, Resolution

    defaults = PromptDefaults(seed=seed)
    if duration is not None:
        defaults = replace(defaults, duration=duration)
    if resolution is not None:
        defaults = replace(defaults, resolution=Resolution(resolution))
    if aspect is not None:
        defaults = replace(defaults, aspect=Aspect(aspect))
    return parse_prompt(prompt, defaults=defaults)


def _progress_bar() -> tuple[Callable[[float, str], None], Callable[[], None]]:
    from tqdm import tqdm

    bar = tqdm(total=1000, unit="‰", bar_format="{desc:<12} {percentage:3.0f}%|{bar}| {elapsed}")

    def update(fraction: float, stage: str) -> None:
        bar.set_description_str(stage)
        bar.update(max(round(fraction * 1000) - bar.n, 0))

    return update, bar.close


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--prompt", required=True, help="the scene, e.g. '@maya surfs, maya says \"hi\"'")
    parser.add_argument(
        "--face",
        action="append",
        type=Path,
        required=True,
        help="photo or recording (mp4) of each @mention, in order; a recording gives the whole person",
    )
    parser.add_argument(
        "--voice", action="append", type=Path, default=[], help="voice recording of each @mention, in order"
    )
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="the mp4 to write (poster next to it)"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--duration", type=float, default=None, help="seconds (default 8, or the prompt's)")
    parser.add_argument("--resolution", choices=["480p", "720p", "1080p"], default=None, help="default 720p")
    parser.add_argument("--aspect", choices=["9:16", "16:9", "1:1"], default=None, help="default 9:16")
    parser.add_argument(
        "--consisid", type=Path, default=None, help="a local ConsisID diffusers folder to use as the engine"
    )
    parser.add_argument("--steps", type=int, default=50, help="denoising steps (with --consisid)")
    parser.add_argument(
        "--c2pa-dir",
        type=Path,
        default=provenance.DEFAULT_DEV_DIR,
        help="where the development signing CA lives",
    )
    parser.add_argument("--c2pa-cert", type=Path, default=None, help="production signing chain (PEM)")
    parser.add_argument("--c2pa-key", type=Path, default=None, help="production signing key (PEM)")
    args = parser.parse_args(argv)
    from ml.prompt import PromptError

    try:
        spec = parse_scene(
            args.prompt, args.seed, duration=args.duration, resolution=args.resolution, aspect=args.aspect
        )
    except PromptError as error:
        parser.error(f"the prompt: {error}")
    if len(args.face) < len(spec.mentions):
        parser.error(
            f"the prompt mentions {', '.join('@' + h for h in spec.mentions)}: give a --face for each"
        )
    if len(args.voice) > len(spec.mentions):
        parser.error(f"{len(args.voice)} --voice files for {len(spec.mentions)} mentions")
    identities = {
        handle: identity_from_files(handle, face, args.voice[index] if index < len(args.voice) else None)
        for index, (handle, face) in enumerate(zip(spec.mentions, args.face, strict=False))
    }
    engine: VideoEngine | None = None
    if args.consisid is not None:
        from ml.generation.diffusers_engine import DiffusersConsisIDEngine

        engine = DiffusersConsisIDEngine(args.consisid, steps=args.steps)
    output = args.output.resolve()
    work = output.parent / f".{output.stem}.render"
    update, close = _progress_bar()
    started = time.monotonic()
    try:
        signing = SigningConfig(
            cert_chain_path=args.c2pa_cert, private_key_path=args.c2pa_key, dev_dir=args.c2pa_dir
        )
        rendered = generate(spec, identities, out_dir=work, engine=engine, progress=update, signing=signing)
    finally:
        close()
    shutil.move(rendered.mp4_path, output)
    poster = output.with_suffix(".jpg")
    shutil.move(rendered.poster_path, poster)
    shutil.rmtree(work, ignore_errors=True)
    rendered_as = rendered.metadata.rendered_as
    print(
        f"{output} ({rendered.duration:g} s, {time.monotonic() - started:.1f} s to render), poster {poster}"
        + (f"; rendered as: {rendered_as}" if rendered_as else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
