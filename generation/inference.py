"""The one adapter between the generation app and the engine in `ml/`.

The Django side passes plain values in (the spec as a dict, each cameo's stored identity as bytes) and gets
plain values back; `ml` (and with it torch) is imported inside the functions, so web processes that import
this module never load it. Only the render worker calls `render`; it keeps the engine loaded between jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

EMBEDDING_DIMENSIONS = 128  # dlib_resnet_v1, what cameos store in FaceEmbedding


class RenderCanceled(Exception):
    """The job was canceled (or its consent revoked) while rendering; nothing was kept."""


class TransientRenderError(Exception):
    """A fault worth retrying (storage or device hiccup, memory pressure); the job goes back to the queue."""


class RenderRejected(Exception):
    """The engine refused the input (a bad spec or identity): retrying cannot help."""


@dataclass(frozen=True)
class CameoIdentity:
    """What the engine needs of one mentioned cameo, read from the cameos app's stored data."""

    handle: str  # lower-case mention, a key of the spec's mentions
    cameo_id: int
    reference_png: bytes  # the aligned face crop (person) or the character image
    face_embedding: bytes | None  # float32 little-endian (128,); None for a character without a face
    voice_embedding: bytes | None  # float32 little-endian (256,); None when no voice was enrolled
    # the owner's screened free-text guidance (cameos.preferences); only its colour words reach the engine,
    # as this cameo's look (`scene_for_render`)
    guidance: str = ""
    # a local copy of the cameo's verified recording: the reference engine cuts the person out of it (full
    # resolution, head motion, real mouth shapes); None: the engine works from the reference crop alone
    recording_path: Path | None = None


@dataclass(frozen=True)
class RenderResult:
    mp4_path: Path
    poster_path: Path
    engine_metadata: dict[str, Any]
    manifest: dict[str, Any]
    fingerprint: str
    spoken_lines: tuple[str, ...]  # the dialogue as synthesised
    duration: float


@dataclass
class OutputFacts:
    """What the output checks need from a finished file."""

    transcript: str  # speech recognised in the audio track
    face_embeddings: list[bytes] = field(
        default_factory=list
    )  # float32 (128,) per face found in sampled frames
    frames_checked: int = 0


def _engine() -> Any:
    """The configured engine, loaded once per worker process (the registry keeps it)."""
    from ml import registry

    name = settings.GENERATION_ENGINE
    if name == "reference":
        from ml.generation.reference.studio import ReferenceStudioEngine

        return ReferenceStudioEngine.from_registry()
    if name.startswith("diffusers:"):
        path = name.removeprefix("diffusers:")

        def load() -> Any:
            from ml.generation.diffusers_engine import DiffusersConsisIDEngine

            return DiffusersConsisIDEngine(path, steps=settings.GENERATION_DIFFUSERS_STEPS)

        return registry.load_once(f"engine:{name}", load)
    raise RenderRejected(f"GENERATION_ENGINE {name!r} is neither 'reference' nor 'diffusers:<folder>'")


def _identity(cameo: CameoIdentity) -> Any:
    import io

    import numpy as np
    from PIL import Image

    from ml.generation.engine import FACE_EMBEDDING_DIM, Identity

    with Image.open(io.BytesIO(cameo.reference_png)) as image:
        reference = np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    if cameo.face_embedding is not None:
        face = np.frombuffer(cameo.face_embedding, dtype="<f4").astype(np.float32)
    else:  # a character: its look comes from the reference image alone
        face = np.zeros(FACE_EMBEDDING_DIM, dtype=np.float32)
    voice = (
        None if cameo.voice_embedding is None else np.frombuffer(cameo.voice_embedding, dtype="<f4").copy()
    )
    recording = (
        cameo.recording_path if cameo.recording_path is not None and cameo.recording_path.exists() else None
    )
    return Identity(
        handle=cameo.handle,
        face_embedding=face,
        reference_faces=(reference,),
        voice_embedding=voice,
        recording=recording,
    )


def _signing() -> Any:
    from ml.provenance.c2pa import SigningConfig

    if settings.C2PA_CERT_CHAIN_PATH:
        return SigningConfig(
            cert_chain_path=Path(settings.C2PA_CERT_CHAIN_PATH),
            private_key_path=Path(settings.C2PA_PRIVATE_KEY_PATH),
        )
    return SigningConfig(dev_dir=Path(settings.C2PA_DEV_DIR))


def scene_for_render(spec: Mapping[str, Any], identities: Sequence[CameoIdentity]) -> Any:
    """The stored spec (an `ml.scene.SceneSpec`) with each cameo owner's look attached to that cameo alone.

    The owner's guidance is untrusted text: it becomes an `ml.scene.CameoAppearance` (a few colours from a
    closed vocabulary) bound to the owner's own cameo, never words in the prompt, so it cannot add a
    mention, change a setting or reach another cameo. Looks are set here from the owners' current guidance
    and replace whatever the spec carried: the prompt's writer cannot set one."""
    from dataclasses import replace

    from ml.scene import CameoAppearance, SceneSpec

    scene = SceneSpec.from_dict(dict(spec))
    looks = (
        CameoAppearance.from_guidance(identity.handle, identity.guidance)
        for identity in identities
        if identity.handle in scene.mentions
    )
    return replace(scene, appearance=tuple(look for look in looks if look is not None))


def render(
    *,
    spec: Mapping[str, Any],
    identities: Sequence[CameoIdentity],
    out_dir: Path,
    progress: Callable[[float, str], None],
    should_cancel: Callable[[], bool],
) -> RenderResult:
    """Render `spec` with its cameos into `out_dir`: a signed H.264/AAC mp4 and a poster. Raises
    RenderCanceled, TransientRenderError or RenderRejected; anything else is a bug in the engine."""
    import ml.generate
    from ml.generation.engine import GenerationCanceled

    try:
        scene = scene_for_render(spec, identities)
        by_handle = {identity.handle: _identity(identity) for identity in identities}
        engine = _engine()
        rendered = ml.generate.generate(
            scene,
            by_handle,
            out_dir=out_dir,
            engine=engine,
            progress=progress,
            should_cancel=should_cancel,
            signing=_signing(),
            cameo_ids={identity.handle: str(identity.cameo_id) for identity in identities},
        )
    except GenerationCanceled as exc:
        raise RenderCanceled(str(exc)) from exc
    except (MemoryError, ConnectionError, TimeoutError) as exc:
        raise TransientRenderError(f"{type(exc).__name__}: {exc}") from exc
    except OSError as exc:
        raise TransientRenderError(f"{type(exc).__name__}: {exc}") from exc
    except ValueError as exc:
        raise RenderRejected(str(exc)) from exc
    except RuntimeError as exc:
        if "out of memory" in str(exc).lower():  # CUDA OOM: another job's memory, worth a retry
            raise TransientRenderError(str(exc)) from exc
        raise
    metadata = rendered.metadata
    return RenderResult(
        mp4_path=Path(rendered.mp4_path),
        poster_path=Path(rendered.poster_path),
        engine_metadata={
            "engine": metadata.engine,
            "checkpoint_sha256": metadata.checkpoint_sha256,
            "native_resolution": list(metadata.native_resolution),
            "steps": metadata.steps,
            "seed": metadata.seed,
            "fps": metadata.fps,
            "conditioned_on": list(metadata.conditioned_on),
            # what the prompt was drawn as, for the app to show ("rendered as: a beach under an orange sky")
            "rendered_as": metadata.rendered_as,
            "shots": [list(shot) for shot in metadata.shots],
        },
        manifest=dict(rendered.manifest),
        fingerprint=rendered.fingerprint,
        spoken_lines=tuple(rendered.transcript),
        duration=float(rendered.duration),
    )


def inspect_output(path: Path, *, max_frames: int = 8) -> OutputFacts:
    """Listen to and look at a finished video: the speech in its audio, and the faces in a few frames."""
    import numpy as np

    from ml.identity.face import DlibFaceEmbedder, FaceAnalyzer
    from ml.media import MediaError, extract_audio, probe, sample_frames
    from ml.speech.asr import AsrConfig, SpeechRecognizer

    info = probe(path)
    transcript = ""
    if info.audio is not None:
        try:
            audio = extract_audio(path, info=info)
        except MediaError:
            audio = np.zeros(0, dtype=np.float32)
        if audio.size:
            transcript = SpeechRecognizer(AsrConfig(initial_prompt=None)).transcribe(audio).text
    duration = max(info.duration_s or 0.0, 0.1)
    frames = sample_frames(path, fps=max_frames / duration, max_frames=max_frames, info=info).frames
    analyzer = FaceAnalyzer()
    embedder = DlibFaceEmbedder()
    embeddings: list[bytes] = []
    for frame in frames:
        faces = analyzer.detect(frame, upsample=1 if max(frame.shape[:2]) < 400 else 0)
        for vector in embedder.embed(frame, faces):
            embeddings.append(np.asarray(vector, dtype="<f4").tobytes())
    return OutputFacts(transcript=transcript, face_embeddings=embeddings, frames_checked=len(frames))
