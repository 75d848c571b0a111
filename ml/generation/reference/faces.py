"""The faces the reference model trains and is evaluated on: real crops from package-shipped photos, plus
synthetic faces made from the training crops, with their dlib 128-D embeddings.

Sources (all ship inside installed packages; nothing is downloaded):

* ``skimage.data.astronaut()``: one face (Eileen Collins); HOG also fires on her suit, so only the largest
  detection is kept;
* insightface's ``data/images/t1.jpg``: six faces, named ``t1_1`` ... ``t1_6`` from left to right;
* insightface's ``data/images/Tom_Hanks_54745.png``: one face (its ``mask_*.jpg`` photos have no face dlib's
  HOG detector finds, so they are not used);
* ``skimage.data.lfw_subset()``: the 100 face images (25x25 grey, from Labeled Faces in the Wild), tinted
  to a skin colour: many real people at the resolution the model draws faces at.

Split (``HELD_OUT``): Tom Hanks and the four rightmost ``t1`` faces are never seen in training, not even as
a parent of a morph; they are the evaluation identities. Training uses the astronaut, ``t1_1``, ``t1_2``,
the LFW faces, and morphs of those (blends of two, colour jitter, small warps, mirror images), so the
reference path has to copy a face it is shown rather than memorise a handful of people.

Every face is a 150x150 aligned chip (dlib's ``get_face_chip`` layout, padding 0.25), the same layout as a
cameo's reference face, and its embedding is dlib's ResNet descriptor of that chip.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

CHIP = 150  # side of an aligned face chip, dlib's layout
HELD_OUT = ("tom_hanks", "t1_3", "t1_4", "t1_5", "t1_6")  # evaluation identities, never trained on
TRAIN_REAL = ("astronaut", "t1_1", "t1_2")  # real faces the model trains on
LFW_FACES = 100  # lfw_subset()'s first 100 images are faces, the rest are not


@dataclass(frozen=True, eq=False)
class Face:
    """One identity: its aligned chip and dlib embedding. ``eq=False``: arrays do not compare."""

    name: str  # "astronaut", "t1_3", "lfw_017", "morph_042", ...
    chip: np.ndarray  # (150, 150, 3) uint8 RGB aligned chip
    embedding: np.ndarray  # (128,) float32 dlib_resnet_v1 descriptor of the chip
    source: str  # "real", "lfw" or "morph"


def _insightface_images() -> str:
    import importlib.util

    spec = importlib.util.find_spec("insightface")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("insightface is not installed: pip install --no-deps insightface==2.1")
    return os.path.join(next(iter(spec.submodule_search_locations)), "data", "images")


def real_chips() -> dict[str, np.ndarray]:
    """Aligned chips of the eight real faces, by name (dlib HOG detection + 68 landmarks)."""
    import skimage.data

    from ml.identity.face import FaceAnalyzer

    analyzer = FaceAnalyzer(detect_max_side=2000)
    folder = _insightface_images()

    def load(name: str) -> np.ndarray:
        with Image.open(os.path.join(folder, name)) as image:
            return np.asarray(image.convert("RGB"))

    chips: dict[str, np.ndarray] = {}
    chips["astronaut"] = analyzer.detect(skimage.data.astronaut(), upsample=1)[0].chip  # largest: the face
    chips["tom_hanks"] = analyzer.detect(load("Tom_Hanks_54745.png"), upsample=1)[0].chip
    group = sorted(analyzer.detect(load("t1.jpg"), upsample=1), key=lambda face: face.box.left)
    if len(group) != 6:
        raise RuntimeError(f"expected 6 faces in t1.jpg, dlib found {len(group)}")
    for index, face in enumerate(group, start=1):
        chips[f"t1_{index}"] = face.chip
    return chips


def lfw_chips() -> list[np.ndarray]:
    """The LFW subset's faces as chips: upscaled to the chip's face area, tinted, edge-padded to 150."""
    import skimage.data

    rng = np.random.default_rng(7)
    faces = skimage.data.lfw_subset()[:LFW_FACES]  # (100, 25, 25) float in [0, 1]
    chips = []
    for grey in faces:
        face = np.asarray(
            Image.fromarray((grey * 255).astype(np.uint8)).resize((100, 100), Image.Resampling.BICUBIC)
        ).astype(np.float32)  # (100, 100)
        tint = np.array([1.0, 0.82, 0.68]) * rng.uniform(0.8, 1.15) + rng.normal(0, 0.04, 3)  # skin-ish
        coloured = np.clip(face[..., None] * tint, 0, 255)  # (100, 100, 3)
        chips.append(np.pad(coloured, ((25, 25), (25, 25), (0, 0)), mode="edge").astype(np.uint8))
    return chips


def jitter_colour(chip: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Per-channel gain, brightness and contrast changes; identity-preserving for dlib at mild strength."""
    image = chip.astype(np.float32)
    gains = 1.0 + rng.normal(0, 0.08 * strength, 3)
    contrast = 1.0 + rng.normal(0, 0.1 * strength)
    brightness = rng.normal(0, 12 * strength)
    mean = image.mean()
    image = (image - mean) * contrast + mean + brightness
    return np.clip(image * gains, 0, 255).astype(np.uint8)


def warp(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A small random affine warp (stretch, shear, shift) about the chip's centre."""
    matrix = np.eye(2) + rng.normal(0, 0.06, (2, 2))
    centre = np.array([CHIP / 2, CHIP / 2])
    offset = centre - matrix @ centre + rng.normal(0, 3, 2)
    data = (matrix[0, 0], matrix[0, 1], offset[0], matrix[1, 0], matrix[1, 1], offset[1])
    warped = Image.fromarray(chip).transform(
        (CHIP, CHIP), Image.Transform.AFFINE, data=data, resample=Image.Resampling.BILINEAR
    )
    return np.asarray(warped)


def morph(parents: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """A new face: a blend of two parent chips (aligned, so eyes and mouths roughly coincide), then
    maybe mirrored, warped and colour-jittered."""
    first, second = rng.choice(len(parents), size=2, replace=False)
    alpha = rng.uniform(0.25, 0.75)
    chip = (alpha * parents[first].astype(np.float32) + (1 - alpha) * parents[second]).astype(np.uint8)
    if rng.random() < 0.5:
        chip = chip[:, ::-1].copy()
    if rng.random() < 0.7:
        chip = warp(chip, rng)
    return jitter_colour(chip, rng)


def embed_chips(chips: list[np.ndarray]) -> np.ndarray:
    """(N, 128) float32 dlib descriptors of aligned chips."""
    import dlib

    from ml import registry

    path = str(registry.model_path("dlib_face_recognition_resnet"))
    model = registry.load_once("dlib_face_recognition_resnet", lambda: dlib.face_recognition_model_v1(path))
    descriptors = model.compute_face_descriptor([np.ascontiguousarray(chip) for chip in chips])
    return np.array([np.array(d) for d in descriptors], dtype=np.float32)  # (N, 128)


def training_faces(morphs: int, seed: int = 0) -> list[Face]:
    """The training identities: the three real training faces and their mirror images, the LFW faces,
    and ``morphs`` synthetic faces bred from all of those (never from a held-out face)."""
    rng = np.random.default_rng(seed)
    real = real_chips()
    named: list[tuple[str, np.ndarray, str]] = []
    for name in TRAIN_REAL:
        named.append((name, real[name], "real"))
        named.append((f"{name}_mirror", real[name][:, ::-1].copy(), "real"))
    named.extend((f"lfw_{index:03d}", chip, "lfw") for index, chip in enumerate(lfw_chips()))
    parents = [chip for _, chip, _ in named]
    named.extend((f"morph_{index:03d}", morph(parents, rng), "morph") for index in range(morphs))
    embeddings = embed_chips([chip for _, chip, _ in named])
    return [
        Face(name, chip, embedding, source)
        for (name, chip, source), embedding in zip(named, embeddings, strict=True)
    ]


def held_out_faces() -> list[Face]:
    """The evaluation identities (``HELD_OUT``), in that order."""
    real = real_chips()
    chips = [real[name] for name in HELD_OUT]
    embeddings = embed_chips(chips)
    return [
        Face(name, chip, emb, "real") for name, chip, emb in zip(HELD_OUT, chips, embeddings, strict=True)
    ]
