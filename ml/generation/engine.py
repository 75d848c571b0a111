"""The generation engine's contract: what goes in (a scene and its identities), what comes out (a video).

Torch-free on purpose (numpy only): the web process and the Celery worker import these types to build
requests and read results without paying for torch; an engine implementation (``diffusers_engine``) imports
its heavy libraries itself.

Guarantees every ``VideoEngine`` gives:

* ``progress(fraction, stage)`` is called through the run with non-decreasing fractions in [0, 1], the last
  call being ``progress(1.0, "done")`` when a video is returned;
* ``should_cancel()`` is polled before the run starts and after every denoising step (so between steps, and
  before decoding); when it returns True the engine raises ``GenerationCanceled`` (no video, no more steps);
* the same spec, identities, engine settings and seed give the same frames on the same machine (same
  hardware, drivers and library versions); across machines frames may differ in the last bits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from ml.scene import SceneSpec

FACE_EMBEDDING_DIM = 128  # dlib_resnet_v1 (ml.identity.face.DlibFaceEmbedder)

ProgressCallback = Callable[[float, str], None]  # (fraction in [0, 1], stage name such as "denoising")
CancelCheck = Callable[[], bool]  # True: stop as soon as possible


def ignore_progress(fraction: float, stage: str) -> None:
    """The ProgressCallback an engine uses when the caller passes none."""
    del fraction, stage


def never_cancel() -> bool:
    """The CancelCheck an engine uses when the caller passes none."""
    return False


class GenerationCanceled(Exception):
    """``should_cancel()`` said stop; raised by the engine at the next poll, after ``steps_done`` steps."""

    def __init__(self, steps_done: int, steps_total: int) -> None:
        super().__init__(f"generation canceled after {steps_done} of {steps_total} denoising steps")
        self.steps_done = steps_done
        self.steps_total = steps_total


def _check_rgb(name: str, image: object) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise ValueError(f"{name} must be an (H, W, 3) uint8 RGB array, got {shape} {dtype}")


@dataclass(frozen=True, eq=False)
class Identity:
    """One mentioned cameo as the engine sees it: who they look and sound like, nothing about consent
    (the service checked that before the spec reached a worker). ``eq=False``: arrays do not compare."""

    handle: str  # lower-case, without `@`; a key of SceneSpec.mentions
    face_embedding: np.ndarray  # (128,) float32 dlib_resnet_v1 descriptor of the cameo's face
    reference_faces: tuple[
        np.ndarray, ...
    ]  # (H, W, 3) uint8 RGB aligned face crops, best first; at least one
    voice_embedding: np.ndarray | None = None  # (256,) float32 resemblyzer embedding; None: no voice enrolled
    # the cameo's own recording (the verified selfie clip): engines that composite the person cut them out
    # of it; None: only ``reference_faces`` are known
    recording: Path | None = None

    def __post_init__(self) -> None:
        embedding = self.face_embedding
        if not isinstance(embedding, np.ndarray) or embedding.shape != (FACE_EMBEDDING_DIM,):
            raise ValueError(
                f"@{self.handle}: face_embedding must be a ({FACE_EMBEDDING_DIM},) array, "
                f"got {getattr(embedding, 'shape', type(embedding).__name__)}"
            )
        if not np.all(np.isfinite(embedding)):
            raise ValueError(f"@{self.handle}: face_embedding has non-finite values")
        if not isinstance(self.reference_faces, tuple) or not self.reference_faces:
            raise ValueError(
                f"@{self.handle}: reference_faces must be a non-empty tuple of crops, got {self.reference_faces!r:.80}"
            )
        for index, face in enumerate(self.reference_faces):
            _check_rgb(f"@{self.handle}: reference_faces[{index}]", face)
        if self.voice_embedding is not None and (
            not isinstance(self.voice_embedding, np.ndarray) or self.voice_embedding.ndim != 1
        ):
            raise ValueError(
                f"@{self.handle}: voice_embedding must be a 1-D array or None, "
                f"got {getattr(self.voice_embedding, 'shape', type(self.voice_embedding).__name__)}"
            )


@dataclass(frozen=True)
class GenerationMetadata:
    """How a video was made: enough to reproduce it and to write its provenance manifest."""

    engine: str  # engine name, e.g. "diffusers_consisid"
    checkpoint_sha256: str  # digest of the weights used (for a folder: of its file manifest, see the engine)
    native_resolution: tuple[int, int]  # (width, height) the model generated at, before any upscaling
    steps: int  # denoising steps run
    seed: int  # the spec's seed
    fps: float  # frames per second at which the frames span the spec's duration
    conditioned_on: tuple[str, ...]  # handles whose identity reached the model, in mention order
    rendered_as: str = ""  # what was drawn, when the prompt was mapped onto what the engine can draw
    generated: tuple[str, ...] = ()  # what the model generated (for the provenance manifest)
    composited: tuple[str, ...] = ()  # what was composited from the cameos' own media (ditto)
    shots: tuple[tuple[float, float, str, str], ...] = ()  # (start, end, framing, place) per shot drawn


@dataclass(frozen=True, eq=False)
class GeneratedVideo:
    """An engine's result: the frames, or the mp4 they were written to (or both), and a poster frame."""

    frames: np.ndarray | None  # (F, H, W, 3) uint8 RGB; None once only the mp4 is kept
    mp4_path: Path | None  # H.264 file holding the frames; None until written
    poster: np.ndarray  # (H, W, 3) uint8 RGB: the still shown before playback
    metadata: GenerationMetadata

    def __post_init__(self) -> None:
        if self.frames is None and self.mp4_path is None:
            raise ValueError("a GeneratedVideo needs its frames or its mp4_path; both are None")
        if self.frames is not None and (
            self.frames.ndim != 4 or self.frames.shape[3] != 3 or self.frames.dtype != np.uint8
        ):
            raise ValueError(
                f"frames must be (F, H, W, 3) uint8, got {self.frames.shape} {self.frames.dtype}"
            )
        _check_rgb("poster", self.poster)

    def write_mp4(self, path: str | Path) -> GeneratedVideo:
        """Encode the frames (video only; sound is a later stage) and return a copy that points at the file."""
        from ml.media.encode import write_mp4  # PyAV: only processes that encode pay for it

        if self.frames is None:
            raise ValueError(f"no frames to write; the video is already at {self.mp4_path}")
        written = write_mp4(path, self.frames, fps=self.metadata.fps)
        return replace(self, mp4_path=written)


def check_identities(spec: SceneSpec, identities: Mapping[str, Identity]) -> None:
    """Raise ValueError unless ``identities`` holds exactly the spec's mentions, each under its own handle."""
    missing = [handle for handle in spec.mentions if handle not in identities]
    if missing:
        raise ValueError(f"no identity given for mentioned {', '.join('@' + h for h in missing)}")
    extra = sorted(set(identities) - set(spec.mentions))
    if extra:
        raise ValueError(
            f"identities given for {', '.join('@' + h for h in extra)}, not mentioned in the scene"
        )
    for handle, identity in identities.items():
        if identity.handle != handle:
            raise ValueError(f"identity for @{handle} is labelled @{identity.handle}")


class VideoEngine(Protocol):
    """Renders a scene with its cameos. See the module docstring for the guarantees every engine gives."""

    name: str  # stable engine id, recorded in GenerationMetadata.engine

    def generate(
        self,
        spec: SceneSpec,
        identities: Mapping[str, Identity],
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GeneratedVideo:
        """The video for ``spec``; ``identities`` maps every handle in ``spec.mentions`` to its Identity.

        Raises ValueError naming a bad input, GenerationCanceled when ``should_cancel()`` returned True.
        """
        ...
