"""ReferenceEngine: the project's own video model (``ReferenceDiT``) behind the ``VideoEngine`` contract.

It renders what the synthetic corpus taught it (``corpus.py``): a place under a coloured sky, a still,
panning or zooming camera, and up to two people whose faces come from their reference crops and dlib
embeddings, walking left or right, bouncing or falling. It is small enough to train and run on a CPU, so
a fresh clone generates videos with no GPU and no download (weights: ``ml/weights/reference_dit/``).

How a spec maps onto the model:

* text: the scene text then each shot's text, with the first mention replaced by "a person" and the
  second by "another person" (the corpus's wording), encoded by all-MiniLM-L6-v2; ``style`` is not
  modelled (the model has one look);
* identities: the first ``max_identities`` (2) mentions, in mention order, each by its first reference face
  (centre-cropped to a square, resized to the model's face size) and its 128-D embedding; a scene that
  mentions more people is refused (ValueError), never silently trimmed;
* appearance: an owner's wardrobe colour (``SceneSpec.appearance``) tints the lower quarter of that
  person's reference face only; it never reaches the text;
* frames: ``config.frames`` (8) square frames of ``config.size`` (64) pixels whatever the spec's aspect and
  resolution (``metadata.native_resolution``), spanning the spec's duration (``metadata.fps``); upscaling
  and frame interpolation are later stages of the pipeline;
* seed: a CPU ``torch.Generator`` seeded with ``spec.seed`` draws the initial noise, the sampler's only
  randomness, so the same inputs give the same frames on one machine.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

from ml import registry
from ml.generation.engine import (
    FACE_EMBEDDING_DIM,
    CancelCheck,
    GeneratedVideo,
    GenerationCanceled,
    GenerationMetadata,
    Identity,
    ProgressCallback,
    check_identities,
    ignore_progress,
    never_cancel,
)
from ml.generation.reference.model import ReferenceDiT, ReferenceDiTConfig
from ml.generation.reference.sampler import FlowEulerConfig, sample
from ml.scene import MENTION_TOKEN_RE, WARDROBE_COLOURS, SceneSpec

ENGINE_NAME = "reference_dit"
MODEL_NAME = "reference_dit"  # registry name of the shipped checkpoint
SUBJECTS = ("a person", "another person")  # how the corpus names the first and second person
DENOISE_START, DENOISE_END = 0.1, 0.95  # progress fractions spanned by the denoising steps

TextEncode = Callable[[list[str]], torch.Tensor]  # texts -> (N, text_dim) float32


def load_checkpoint(folder: Path) -> ReferenceDiT:
    """The model in ``folder`` (``config.json`` + ``model.safetensors``), in eval mode."""
    config = ReferenceDiTConfig(**json.loads((folder / "config.json").read_text()))
    model = ReferenceDiT(config)
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    return model.eval().requires_grad_(False)


def square_face(face: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 crop -> (size, size, 3) uint8: centre square, resized (bicubic)."""
    h, w = face.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = np.ascontiguousarray(face[top : top + side, left : left + side])
    return np.asarray(Image.fromarray(square).resize((size, size), Image.Resampling.BICUBIC))


def wardrobe_tint(face: np.ndarray, colour: str) -> np.ndarray:
    """(S, S, 3) uint8 reference -> the same with its lower quarter (where the shoulders are) blended
    half-way toward ``colour`` (a key of ``ml.scene.WARDROBE_COLOURS``)."""
    tinted = face.copy()
    shoulders = tinted[-max(1, face.shape[0] // 4) :]  # (S/4, S, 3), a view
    rgb = np.asarray(WARDROBE_COLOURS[colour], dtype=np.float32)  # (3,)
    shoulders[:] = (shoulders.astype(np.float32) * 0.5 + rgb * 0.5).round()
    return tinted


class ReferenceEngine:
    """``VideoEngine`` over a ``ReferenceDiT`` and the flow-matching Euler sampler (module docstring)."""

    name = ENGINE_NAME

    def __init__(
        self,
        model: ReferenceDiT,
        encode_text: TextEncode,
        *,
        checkpoint_sha256: str,
        sampler: FlowEulerConfig | None = None,
    ) -> None:
        self.model = model.eval().requires_grad_(False)
        self.config = model.config
        self.encode_text = encode_text
        self.checkpoint_sha256 = checkpoint_sha256
        self.sampler = sampler or FlowEulerConfig()
        self._lock = threading.Lock()

    @classmethod
    def from_registry(cls, steps: int = FlowEulerConfig.steps) -> ReferenceEngine:
        """The engine over the shipped checkpoint (sha256-verified by the registry), built once per process
        and per step count; later calls return the same instance."""

        def build() -> ReferenceEngine:
            from ml.generation.reference.text import TextEncoder

            folder = registry.model_dir(MODEL_NAME)
            return cls(
                load_checkpoint(folder),
                TextEncoder.shared().encode,
                checkpoint_sha256=registry.sha256_of(folder / "model.safetensors"),
                sampler=FlowEulerConfig(steps=steps),
            )

        return registry.load_once(f"engine:{ENGINE_NAME}:{steps}", build)

    @staticmethod
    def prompt(spec: SceneSpec) -> str:
        """The sentence the text encoder reads (see the module docstring)."""
        subjects = dict(zip(spec.mentions, SUBJECTS, strict=False))

        def name(match: re.Match[str]) -> str:
            return subjects.get(match.group(1).lower(), "a person")

        parts = [spec.text, *(shot.text for shot in spec.shots)]
        return ". ".join(MENTION_TOKEN_RE.sub(name, part).strip() for part in parts if part.strip())

    def check_inputs(self, spec: SceneSpec, identities: Mapping[str, Identity]) -> None:
        """ValueError naming the bad value; the spec validated itself on construction."""
        if not isinstance(spec, SceneSpec):
            raise ValueError(f"spec must be a SceneSpec, not {type(spec).__name__}")
        if len(spec.mentions) > self.config.max_identities:
            raise ValueError(
                f"{ENGINE_NAME} renders at most {self.config.max_identities} people; the scene mentions "
                f"{len(spec.mentions)} ({', '.join('@' + h for h in spec.mentions)})"
            )
        check_identities(spec, identities)
        for handle in spec.mentions:
            embedding = identities[handle].face_embedding
            if embedding.shape != (FACE_EMBEDDING_DIM,):
                raise ValueError(
                    f"@{handle}: face_embedding has shape {embedding.shape}, not ({FACE_EMBEDDING_DIM},)"
                )

    def conditioning(self, spec: SceneSpec, identities: Mapping[str, Identity]) -> dict[str, torch.Tensor]:
        """The model's inputs besides the noisy clip, batch of one (shapes as in ``ReferenceDiT.forward``)."""
        c = self.config
        faces = np.zeros((c.max_identities, c.face_size, c.face_size, 3), np.uint8)  # (K, face, face, 3)
        embeddings = np.zeros((c.max_identities, FACE_EMBEDDING_DIM), np.float32)  # (K, 128)
        present = np.zeros(c.max_identities, bool)  # (K,)
        looks = {look.handle: look for look in spec.appearance}
        for slot, handle in enumerate(spec.mentions):
            identity = identities[handle]
            faces[slot] = square_face(identity.reference_faces[0], c.face_size)
            if handle in looks:  # the owner's wardrobe colour, on this person's reference only
                faces[slot] = wardrobe_tint(faces[slot], looks[handle].colours[0])
            embeddings[slot] = identity.face_embedding
            present[slot] = True
        text = self.encode_text([self.prompt(spec)]).float()  # (1, text_dim)
        if text.shape != (1, c.text_dim):
            raise ValueError(
                f"the text encoder returned {tuple(text.shape)}, the model needs (1, {c.text_dim})"
            )
        return {
            "text": text,
            "faces": torch.from_numpy(faces).permute(0, 3, 1, 2)[None].float() / 127.5
            - 1.0,  # (1, K, 3, f, f)
            "face_embeddings": torch.from_numpy(embeddings)[None],  # (1, K, 128)
            "present": torch.from_numpy(present)[None],  # (1, K)
        }

    def generate(
        self,
        spec: SceneSpec,
        identities: Mapping[str, Identity],
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GeneratedVideo:
        """Render ``spec`` with its identities (see ``VideoEngine.generate`` for the contract)."""
        report = progress or ignore_progress
        cancel = should_cancel or never_cancel
        steps = self.sampler.steps
        c = self.config
        # 1. check inputs, then the first cancel poll
        self.check_inputs(spec, identities)
        if cancel():
            raise GenerationCanceled(0, steps)
        report(0.0, "preparing")
        with self._lock, torch.no_grad():
            # 2. conditioning: text embedding, reference faces and embeddings in mention order
            inputs = self.conditioning(spec, identities)
            report(DENOISE_START, "denoising")
            # 3. initial noise from the spec's seed
            generator = torch.Generator().manual_seed(spec.seed)
            noise = torch.randn((1, c.frames, 3, c.size, c.size), generator=generator)  # (1, F, 3, S, S)

            # 4. after each step: progress, then the cancel poll
            def after_step(done: int) -> None:
                report(DENOISE_START + (DENOISE_END - DENOISE_START) * done / steps, "denoising")
                if cancel():
                    raise GenerationCanceled(done, steps)

            # 5. denoise
            clip = sample(lambda x, t: self.model(x, t, **inputs), noise, self.sampler, after_step)
        # 6. decode: [-1, 1] -> uint8 frames
        report(DENOISE_END, "decoding")
        frames = (
            ((clip[0].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
        )  # (F, S, S, 3)
        frames = np.ascontiguousarray(frames)
        report(1.0, "done")
        return GeneratedVideo(
            frames=frames,
            mp4_path=None,
            poster=frames[len(frames) // 2].copy(),
            metadata=GenerationMetadata(
                engine=self.name,
                checkpoint_sha256=self.checkpoint_sha256,
                native_resolution=(c.size, c.size),
                steps=steps,
                seed=spec.seed,
                fps=len(frames) / spec.duration,
                conditioned_on=spec.mentions,
            ),
        )
