"""Production engine: any ConsisID-compatible checkpoint run through Hugging Face ``diffusers``.

ConsisID (identity-preserving text-to-video on CogVideoX) conditions its transformer on a face in three ways:
the reference image is VAE-encoded as the first latent frame, ``id_cond`` (a global identity vector) and
``id_vit_hidden`` (multi-scale ViT tokens of the face) feed its Local Facial Extractor, whose output the
transformer cross-attends to. This module maps a ``SceneSpec`` and our ``Identity`` onto that call.

Weights come from a local folder only (a ``save_pretrained`` layout with ``model_index.json``): a hub id
is refused, never downloaded. Only the GPU worker imports this module; it imports torch at import time
and diffusers when an engine is built.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

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
from ml.scene import MENTION_TOKEN_RE, SceneSpec

if TYPE_CHECKING:
    from diffusers.pipelines.consisid.pipeline_consisid import ConsisIDPipeline

ENGINE_NAME = "diffusers_consisid"
HUB_ID_RE = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")  # "org/name", what a hub id looks like
DENOISE_START, DENOISE_END = 0.05, 0.95  # progress fractions spanned by the denoising steps
WHITE = 255  # ConsisID's face images sit on a white background


@dataclass(frozen=True, eq=False)
class IdentityFeatures:
    """What a ConsisID transformer takes for one face. ``eq=False``: tensors do not compare."""

    id_cond: torch.Tensor  # (1, LFE_id_dim) float32 global identity vector
    id_vit_hidden: tuple[torch.Tensor, ...]  # LFE_num_scale x (1, T, LFE_vit_dim) float32 face tokens
    reference_image: np.ndarray  # (H, W, 3) uint8 RGB face image encoded as the video's first frame


class FaceFeatureExtractor(Protocol):
    """Turns an ``Identity`` into the ConsisID conditioning tensors."""

    def __call__(self, identity: Identity) -> IdentityFeatures: ...


class DlibProjectionFeatures:
    """A fixed, documented adapter from our identity data (dlib 128-D embedding, aligned 150x150 crops) to
    ConsisID's input shapes, so the engine runs end to end with what the platform stores today.

    A released ConsisID checkpoint expects other features: ``id_cond`` = a 512-D antelopev2 ArcFace embedding
    concatenated with a 768-D L2-normalised EVA02-CLIP-L image embedding (1280), and ``id_vit_hidden`` = five
    (1, 577, 1024) hidden states of that EVA-CLIP ViT on the face parsed onto white
    (``diffusers.pipelines.consisid.consisid_utils.process_face_embeddings``). Fed this adapter's projections,
    such a checkpoint sees out-of-distribution identity inputs and will not preserve the face: a production
    deployment passes an extractor that computes those features (``face_features=`` on the engine). This
    adapter is the right one only for a checkpoint fine-tuned with it.

    The projections are random matrices drawn once from a seeded CPU generator, so they are the same on
    every machine and every run:

    * ``id_cond``: the L2-normalised embedding times a (128, id_dim) Gaussian matrix, entries ~ N(0, 1);
    * ``id_vit_hidden``: every crop resized to ``grid * patch`` pixels, cut into ``grid x grid`` patches,
      each patch's pixels in [-1, 1] projected to ``vit_dim`` (a matrix per scale) plus a fixed positional
      vector per patch, averaged over the crops; one leading token carries the embedding, like a ViT's CLS.
    """

    def __init__(self, id_dim: int, vit_dim: int, num_scales: int, *, grid: int = 8, patch: int = 14) -> None:
        self.grid, self.patch, self.num_scales = grid, patch, num_scales
        generator = torch.Generator().manual_seed(0)
        patch_dim = 3 * patch * patch
        self._id_projection = torch.randn(FACE_EMBEDDING_DIM, id_dim, generator=generator)  # (128, id_dim)
        self._cls_projection = torch.randn(FACE_EMBEDDING_DIM, vit_dim, generator=generator)  # (128, vit_dim)
        projections = torch.randn(num_scales, patch_dim, vit_dim, generator=generator)  # (S, 3*P*P, vit_dim)
        self._patch_projections = projections / patch_dim**0.5  # unit-variance tokens from unit-range pixels
        self._positions = torch.randn(grid * grid, vit_dim, generator=generator)  # (G*G, vit_dim)

    def __call__(self, identity: Identity) -> IdentityFeatures:
        embedding = torch.from_numpy(identity.face_embedding.astype(np.float32))  # (128,)
        embedding = embedding / embedding.norm().clamp(min=1e-6)
        id_cond = (embedding @ self._id_projection)[None]  # (1, id_dim)
        size = self.grid * self.patch
        crops = torch.cat(
            [
                F.interpolate(
                    torch.from_numpy(np.ascontiguousarray(face)).permute(2, 0, 1)[None].float(),
                    size=(size, size),
                    mode="bilinear",
                    antialias=True,
                )
                for face in identity.reference_faces
            ]
        )  # (N, 3, S, S) in [0, 255]
        crops = crops / 127.5 - 1.0
        N = crops.shape[0]
        patches = crops.reshape(N, 3, self.grid, self.patch, self.grid, self.patch)
        patches = patches.permute(0, 2, 4, 1, 3, 5).reshape(N, self.grid * self.grid, -1)  # (N, G*G, 3*P*P)
        cls = (embedding @ self._cls_projection)[None, None]  # (1, 1, vit_dim)
        hidden = []
        for scale in range(self.num_scales):
            projected = patches @ self._patch_projections[scale]  # (N, G*G, vit_dim)
            tokens = projected.mean(dim=0) + self._positions  # (G*G, vit_dim): averaged over the crops
            hidden.append(torch.cat([cls, tokens[None]], dim=1))  # (1, 1 + G*G, vit_dim)
        return IdentityFeatures(
            id_cond=id_cond, id_vit_hidden=tuple(hidden), reference_image=identity.reference_faces[0]
        )


def checkpoint_folder(checkpoint: str | Path) -> Path:
    """The local checkpoint folder, or a ModelError naming the path (and refusing what looks like a hub id)."""
    path = Path(checkpoint).expanduser()
    if not path.is_dir():
        hint = ""
        if isinstance(checkpoint, str) and HUB_ID_RE.fullmatch(checkpoint):
            hint = (
                f": {checkpoint!r} looks like a Hugging Face hub id, and this engine never downloads. Fetch it "
                f"where the network is allowed (`hf download {checkpoint} --local-dir DIR`), copy DIR to the "
                "worker and pass that folder"
            )
        raise registry.ModelError(f"ConsisID checkpoint folder {path} does not exist{hint}")
    if not (path / "model_index.json").is_file():
        raise registry.ModelError(
            f"{path} has no model_index.json: not a diffusers pipeline folder (write one with save_pretrained)"
        )
    return path


def folder_sha256(folder: Path) -> str:
    """sha256 of the folder's manifest, ``sha256sum``'s lines ``<digest>  <relative path>`` sorted by path:
    it changes when any file is added, removed, renamed or altered. Paths with a part starting with ``.``
    (download caches, lock files) are left out. Each file is hashed once per process (``registry``)."""
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )
    manifest = "".join(
        f"{registry.sha256_of(path)}  {path.relative_to(folder).as_posix()}\n" for path in files
    )
    return hashlib.sha256(manifest.encode()).hexdigest()


def letterbox(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pad ``image`` (H, W, 3) with white to the aspect ``width:height``, centred, so the pipeline's resize
    scales the face without stretching it."""
    h, w = image.shape[:2]
    if w * height < h * width:  # too narrow: pad left and right
        target_w, target_h = round(h * width / height), h
    else:  # too wide: pad top and bottom
        target_w, target_h = w, round(w * height / width)
    canvas = np.full((target_h, target_w, 3), WHITE, dtype=np.uint8)  # (H', W', 3)
    top, left = (target_h - h) // 2, (target_w - w) // 2
    canvas[top : top + h, left : left + w] = image
    return canvas


class DiffusersConsisIDEngine:
    """``VideoEngine`` over ``diffusers.ConsisIDPipeline`` loaded from a local folder.

    How a spec maps onto the call:

    * prompt: the scene text then each shot's text, in order, with ``@handle`` replaced by "the person" for
      the conditioned identity and "another person" for the others, then "Style: ..." when the spec has one;
    * frames: ``spec.frame_count`` capped at the checkpoint's ``sample_frames`` (49 for ConsisID), rounded
      down to ``1 + k * temporal_compression`` (the VAE decoder fixes the exact count returned: 49 for
      ConsisID's 49, 8 for an even latent count of 2); the frames span the spec's duration, so
      ``metadata.fps = frames / duration`` (frame interpolation to ``spec.fps`` is a later stage);
    * size: the spec's resolution capped at ``max_short_side`` (default: the checkpoint's training size,
      480 for ConsisID), in the spec's aspect, each side rounded to a multiple of the VAE's spatial factor
      times the patch size (16); recorded as ``metadata.native_resolution``;
    * identity: the first mentioned cameo only (ConsisID conditions on one face); its features come from
      ``face_features`` (default ``DlibProjectionFeatures``: read its caveat), its reference image, padded
      with white to the frame's aspect, is the first frame;
    * seed: a ``torch.Generator`` on the engine's device seeded with ``spec.seed``, for the initial noise,
      the VAE's sampled image latent and the scheduler's noise.

    Determinism: same inputs, settings and seed give the same frames on the same machine. On CUDA that
    holds for these kernels as long as nothing else in the process turns on nondeterministic algorithms;
    the engine sets no global torch flags. One ``generate`` runs at a time per engine (a lock guards it):
    the diffusers pipeline keeps per-call state on itself.
    """

    name = ENGINE_NAME

    def __init__(
        self,
        checkpoint: str | Path,
        *,
        steps: int = 50,
        guidance_scale: float = 6.0,
        max_short_side: int | None = None,
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
        expected_sha256: str | None = None,
        face_features: FaceFeatureExtractor | None = None,
    ) -> None:
        """Load the pipeline from the local folder ``checkpoint``.

        ``device``: default cuda when available, else cpu; ``dtype``: default bfloat16 on cuda (ConsisID's
        release dtype), float32 on cpu. ``expected_sha256``: when given, the folder digest
        (``folder_sha256``) must match, else ModelError.
        """
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        if guidance_scale < 0:
            raise ValueError(f"guidance_scale must be >= 0, got {guidance_scale}")
        from diffusers import ConsisIDPipeline  # several seconds: only when an engine is built

        # 1. the folder and its digest
        folder = checkpoint_folder(checkpoint)
        self.checkpoint_sha256 = folder_sha256(folder)
        if expected_sha256 is not None and expected_sha256.lower() != self.checkpoint_sha256:
            raise registry.ModelError(
                f"checkpoint {folder} has digest {self.checkpoint_sha256}, expected {expected_sha256}: "
                "a different or altered checkpoint"
            )
        # 2. the pipeline, on its device
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.dtype = dtype or (torch.bfloat16 if self.device.type == "cuda" else torch.float32)
        self.pipeline: ConsisIDPipeline = ConsisIDPipeline.from_pretrained(
            folder, dtype=self.dtype, local_files_only=True
        )
        self.pipeline.to(self.device)
        self.pipeline.set_progress_bar_config(disable=True)
        config = self.pipeline.transformer.config
        if not config.is_train_face:
            raise registry.ModelError(
                f"{folder}: the transformer has is_train_face=False, so it takes no face: not an "
                "identity-preserving ConsisID checkpoint"
            )
        # 3. settings derived from the checkpoint
        self.steps = steps
        self.guidance_scale = guidance_scale
        self.size_multiple = self.pipeline.vae_scale_factor_spatial * config.patch_size
        self.temporal_compression = self.pipeline.vae_scale_factor_temporal
        self.max_frames = config.sample_frames
        self.max_sequence_length = config.max_text_seq_length
        trained_short_side = (
            min(config.sample_height, config.sample_width) * self.pipeline.vae_scale_factor_spatial
        )
        self.max_short_side = max_short_side or trained_short_side
        if self.max_short_side < self.size_multiple:
            raise ValueError(
                f"max_short_side {self.max_short_side} is under the size multiple {self.size_multiple}"
            )
        self.face_features: FaceFeatureExtractor = face_features or DlibProjectionFeatures(
            id_dim=config.LFE_id_dim, vit_dim=config.LFE_vit_dim, num_scales=config.LFE_num_scale
        )
        self._lock = threading.Lock()

    def frame_size(self, spec: SceneSpec) -> tuple[int, int]:
        """(width, height) the model generates ``spec`` at."""
        short = min(spec.resolution.short_side, self.max_short_side)
        ratio_w, ratio_h = spec.aspect.ratio
        width, height = (
            (short * ratio_w / ratio_h, short) if ratio_w >= ratio_h else (short, short * ratio_h / ratio_w)
        )
        multiple = self.size_multiple
        return max(multiple, round(width / multiple) * multiple), max(
            multiple, round(height / multiple) * multiple
        )

    def num_frames(self, spec: SceneSpec) -> int:
        """Frames asked of the pipeline: 1 + k * temporal compression, at most the checkpoint's limit."""
        wanted = min(spec.frame_count, self.max_frames)
        return 1 + self.temporal_compression * max(1, (wanted - 1) // self.temporal_compression)

    @staticmethod
    def prompt(spec: SceneSpec) -> str:
        """The text the T5 encoder reads (see the class docstring)."""
        conditioned = spec.mentions[0] if spec.mentions else None

        def name(match: re.Match[str]) -> str:
            return "the person" if match.group(1).lower() == conditioned else "another person"

        parts = [spec.text, *(shot.text for shot in spec.shots)]
        sentences = [MENTION_TOKEN_RE.sub(name, part).rstrip(". ") for part in parts if part]
        if spec.style is not None:
            sentences.append(f"Style: {spec.style.rstrip('. ')}")
        return ". ".join(sentence for sentence in sentences if sentence) + "."

    def check_inputs(self, spec: SceneSpec, identities: Mapping[str, Identity]) -> None:
        """ValueError naming the bad value; the spec itself validated on construction."""
        if not isinstance(spec, SceneSpec):
            raise ValueError(f"spec must be a SceneSpec, not {type(spec).__name__}")
        if not spec.mentions:
            raise ValueError(
                "ConsisID conditions on a face and the scene mentions nobody: mention a cameo with @handle"
            )
        check_identities(spec, identities)

    def generate(
        self,
        spec: SceneSpec,
        identities: Mapping[str, Identity],
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> GeneratedVideo:
        """Render ``spec`` conditioned on its first mention (see ``VideoEngine.generate`` for the contract)."""
        report = progress or ignore_progress
        cancel = should_cancel or never_cancel
        # 1. check inputs
        self.check_inputs(spec, identities)
        if cancel():
            raise GenerationCanceled(0, self.steps)
        report(0.0, "preparing")
        # 2. identity features of the first mention
        handle = spec.mentions[0]
        features = self.face_features(identities[handle])
        # 3. prompt, size, frame count
        prompt = self.prompt(spec)
        width, height = self.frame_size(spec)
        num_frames = self.num_frames(spec)
        # 4. the first frame: the reference face on white, in the frame's aspect
        from PIL import Image

        reference = Image.fromarray(letterbox(features.reference_image, width, height))

        # 5. per-step callback: progress, then the cancel poll (between steps, before the next one starts)
        def on_step_end(
            pipeline: ConsisIDPipeline, step: int, timestep: torch.Tensor, tensors: dict[str, Any]
        ) -> dict[str, Any]:
            del timestep, tensors
            done, total = step + 1, pipeline.num_timesteps
            report(DENOISE_START + (DENOISE_END - DENOISE_START) * done / total, "denoising")
            if cancel():
                raise GenerationCanceled(done, total)
            return {}

        # 6. denoise and decode
        with self._lock:
            generator = torch.Generator(device=self.device).manual_seed(spec.seed)
            # diffusers wraps __call__ in an untyped decorator, which hides it from mypy
            video = self.pipeline(  # type: ignore[operator]
                image=reference,
                prompt=prompt,
                height=height,
                width=width,
                num_frames=num_frames,
                num_inference_steps=self.steps,
                guidance_scale=self.guidance_scale,
                generator=generator,
                output_type="np",
                return_dict=False,
                callback_on_step_end=on_step_end,
                max_sequence_length=self.max_sequence_length,
                id_cond=features.id_cond,
                id_vit_hidden=list(features.id_vit_hidden),
            )[0]  # (1, F, H, W, 3) float32 in [0, 1]
        # 7. to uint8 frames and a poster (the middle frame: the first is the reference face itself)
        frames = np.round(video[0] * 255.0).clip(0, 255).astype(np.uint8)  # (F, H, W, 3)
        frame_count, out_height, out_width, _ = frames.shape
        report(1.0, "done")
        return GeneratedVideo(
            frames=frames,
            mp4_path=None,
            poster=frames[frame_count // 2].copy(),
            metadata=GenerationMetadata(
                engine=self.name,
                checkpoint_sha256=self.checkpoint_sha256,
                native_resolution=(out_width, out_height),
                steps=self.steps,
                seed=spec.seed,
                fps=frame_count / spec.duration,
                conditioned_on=(handle,),
            ),
        )
