"""ml.identity.face on real photos: detection, quality, identity distances, the ArcFace ONNX path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.identity.face import (
    ARCFACE_TEMPLATE,
    ArcFaceOnnxEmbedder,
    DlibFaceEmbedder,
    FaceAnalyzer,
    face_distance,
    five_points,
    norm_crop,
    quality_issues,
    similarity_transform,
)
from ml.identity.liveness import IdentityModels
from ml.media import sample_frames
from ml.registry import ModelError
from tests.fixtures import recordings
from tests.fixtures.onnx import export_tiny_arcface

BIG = FaceAnalyzer(detect_max_side=1400)  # still photos: detect at full resolution


def _embed_photo(name: str, embedder=None) -> np.ndarray:
    embedder = embedder or DlibFaceEmbedder()
    image = recordings.photo(name)
    faces = BIG.detect(image, upsample=1 if max(image.shape[:2]) < 200 else 0)
    assert faces, f"no face found in {name}"
    return embedder.embed(image, faces[:1])[0]


def test_every_t1_face_is_found_and_the_cat_has_none() -> None:
    t1 = np.asarray(Image.open(recordings.insightface_image("t1.jpg")).convert("RGB"))
    assert len(BIG.detect(t1)) == 6
    assert BIG.detect(recordings.photo("cat")) == []


def test_people_are_told_apart(capsys: pytest.CaptureFixture[str]) -> None:
    names = ["astronaut", "tom_hanks", *(f"t1_{i}" for i in range(6))]
    embeddings = np.stack([_embed_photo(n) for n in names])  # (8, 128)

    distances = face_distance(embeddings[:, None], embeddings[None, :])  # (8, 8)

    with capsys.disabled():
        print("\nface L2 distance matrix (dlib_resnet_v1, same person < 0.6)")
        print(" " * 10 + "".join(f"{n:>10}" for n in names))
        for name, row in zip(names, distances, strict=True):
            print(f"{name:>10}" + "".join(f"{d:10.3f}" for d in row))
    off_diagonal = distances[~np.eye(len(names), dtype=bool)]
    assert off_diagonal.min() > DlibFaceEmbedder.match_threshold, off_diagonal.min()


def test_same_person_matches_across_recording_frames(models: IdentityModels, recording) -> None:
    reference = _embed_photo("astronaut")
    samples = sample_frames(recording(recordings.GOOD), fps=4)

    distances = []
    for frame in samples.frames:
        faces = models.analyzer.detect(frame)
        assert faces
        distances.append(float(face_distance(models.face_embedder.embed(frame, faces[:1])[0], reference)))

    assert max(distances) < DlibFaceEmbedder.match_threshold, distances


def test_flipped_and_cropped_photo_is_the_same_person() -> None:
    image = recordings.photo("astronaut")
    embedder = DlibFaceEmbedder()
    original = embedder.embed(image, BIG.detect(image)[:1])[0]
    for variant in (image[:, ::-1], image[20:400, 80:460]):
        faces = BIG.detect(np.ascontiguousarray(variant))
        assert face_distance(embedder.embed(variant, faces[:1])[0], original) < 0.3


def test_quality_flags_small_dark_and_blurred_faces() -> None:
    image = recordings.photo("astronaut")
    face = BIG.detect(image)[0]
    assert quality_issues(face.quality) == ()
    assert abs(face.quality.pose.yaw_deg) < 15 and abs(face.quality.pose.roll_deg) < 15

    dark = (image * 0.1).astype(np.uint8)
    assert "dark" in quality_issues(BIG.detect(dark, upsample=0)[0].quality)
    small = np.asarray(Image.fromarray(image).resize((300, 300)))
    small_faces = BIG.detect(small, upsample=1)
    assert small_faces and "small" in quality_issues(small_faces[0].quality)
    blurred = np.asarray(Image.fromarray(image).resize((64, 64)).resize((512, 512), Image.BILINEAR))
    blurred_faces = BIG.detect(blurred)
    assert not blurred_faces or "blurry" in quality_issues(blurred_faces[0].quality)


def test_norm_crop_puts_the_five_points_on_the_arcface_template() -> None:
    image = recordings.photo("astronaut")
    face = BIG.detect(image)[0]
    matrix = similarity_transform(five_points(face.landmarks), ARCFACE_TEMPLATE)
    mapped = five_points(face.landmarks) @ matrix[:, :2].T + matrix[:, 2]
    assert np.abs(mapped - ARCFACE_TEMPLATE).max() < 6.0  # 5 points, 4 dof: a residual of a few pixels
    assert norm_crop(image, face.landmarks).shape == (112, 112, 3)


def test_alignment_matches_insightface_which_uses_skimage_similarity_transform() -> None:
    from skimage.transform import SimilarityTransform

    face = BIG.detect(recordings.photo("astronaut"))[0]
    reference = SimilarityTransform.from_estimate(five_points(face.landmarks), ARCFACE_TEMPLATE)
    assert np.allclose(
        similarity_transform(five_points(face.landmarks), ARCFACE_TEMPLATE), reference.params[:2], atol=1e-3
    )


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter, asked for on purpose
def test_arcface_onnx_embedder_loads_from_a_verified_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export_tiny_arcface(tmp_path / "arcface")
    monkeypatch.setenv("ML_MODEL_DIR", str(tmp_path))

    embedder = ArcFaceOnnxEmbedder.from_model_dir()
    image = recordings.photo("astronaut")
    faces = BIG.detect(image)
    first, again = embedder.embed(image, faces[:1]), embedder.embed(image, faces[:1])

    assert embedder.dim == 512 and first.shape == (1, 512)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, again)
    assert embedder.name.startswith("arcface_onnx:")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_arcface_onnx_embedder_refuses_an_altered_file(tmp_path: Path) -> None:
    model_path = export_tiny_arcface(tmp_path / "arcface")
    (tmp_path / "arcface" / "SHA256SUMS").write_text(f"{'0' * 64}  {model_path.name}\n")
    with pytest.raises(ModelError, match=str(model_path)):
        ArcFaceOnnxEmbedder.from_model_dir(tmp_path / "arcface")
    (tmp_path / "arcface" / "SHA256SUMS").unlink()
    with pytest.raises(ModelError, match="SHA256SUMS"):
        ArcFaceOnnxEmbedder.from_model_dir(tmp_path / "arcface")
