"""Faces: detect, landmark, judge quality, align and embed.

dlib's HOG detector and 68-point shape predictor find faces; a ``FaceEmbedder`` turns an aligned face into
an identity vector compared by L2 distance. The default embedder is dlib's ResNet (128-D, CC0 weights,
same person below 0.6); ``ArcFaceOnnxEmbedder`` runs an insightface-style ArcFace ONNX (512-D) that an
operator has licensed and placed in a local folder. HOG sometimes fires on non-faces (the astronaut's
suit), so every detection must carry landmarks that look like a face, and callers follow the subject's
track across frames (``ml.identity.track``) rather than trusting any one frame's largest box.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import dlib
import numpy as np
from PIL import Image

from ml import registry

# 68-point layout (iBUG 300-W), 0-based
JAW = slice(0, 17)
RIGHT_EYE = slice(36, 42)  # the subject's right eye, on the viewer's left
LEFT_EYE = slice(42, 48)
NOSE_TIP = 30
MOUTH_LEFT, MOUTH_RIGHT = 48, 54  # outer corners, viewer's left then right
INNER_LIP_TOP = (61, 62, 63)
INNER_LIP_BOTTOM = (67, 66, 65)


@dataclass(frozen=True)
class FaceBox:
    left: float
    top: float
    right: float
    bottom: float
    score: float  # detector confidence (HOG margin), higher is surer

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)


@dataclass(frozen=True)
class Pose:
    yaw_deg: float  # + when the face turns to the viewer's right (nose moves right)
    pitch_deg: float  # + when the face tilts down (nose moves towards the mouth)
    roll_deg: float  # + when the eye line tilts clockwise in the image


@dataclass(frozen=True)
class FaceQuality:
    face_px: float  # face height in pixels (eyebrow-to-chin span from the box), in the analysed image
    face_fraction: float  # face_px over the image's shorter side
    sharpness: float  # contrast-normalised Laplacian variance of the aligned grey crop (blur is low)
    brightness: float  # mean grey level of the aligned crop, 0..255
    pose: Pose


@dataclass(frozen=True)
class QualityThresholds:
    min_face_px: float = 70.0  # the embedders are trained on faces at least this tall
    min_sharpness: float = (
        15.0  # sharp photos score 30-180, a 112 px face upscaled 2x ~35, Gaussian blur 4 px ~12
    )
    min_brightness: float = 35.0  # darker crops give unstable embeddings
    max_brightness: float = 235.0  # blown-out crops too
    max_abs_yaw_deg: float = 40.0  # profile views embed poorly
    max_abs_roll_deg: float = 35.0


def quality_issues(
    quality: FaceQuality, thresholds: QualityThresholds = QualityThresholds()
) -> tuple[str, ...]:
    """Names of the thresholds a face breaks: "small", "blurry", "dark", "bright", "turned", "tilted"."""
    issues = []
    if quality.face_px < thresholds.min_face_px:
        issues.append("small")
    if quality.sharpness < thresholds.min_sharpness:
        issues.append("blurry")
    if quality.brightness < thresholds.min_brightness:
        issues.append("dark")
    if quality.brightness > thresholds.max_brightness:
        issues.append("bright")
    if abs(quality.pose.yaw_deg) > thresholds.max_abs_yaw_deg:
        issues.append("turned")
    if abs(quality.pose.roll_deg) > thresholds.max_abs_roll_deg:
        issues.append("tilted")
    return tuple(issues)


@dataclass(frozen=True, eq=False)
class FaceObservation:
    box: FaceBox  # in the coordinates of the image passed to ``FaceAnalyzer.detect``
    landmarks: np.ndarray  # (68, 2) float32 x, y in the same coordinates
    quality: FaceQuality
    chip: np.ndarray  # (150, 150, 3) uint8 RGB aligned crop (dlib's alignment, also the reference crop)

    @property
    def mouth_openness(self) -> float:
        """Inner-lip gap over mouth width: ~0 closed, ~0.3+ wide open; scale-free, so frames compare."""
        return mouth_openness(self.landmarks)


def mouth_openness(landmarks: np.ndarray) -> float:
    gap = np.linalg.norm(landmarks[list(INNER_LIP_TOP)] - landmarks[list(INNER_LIP_BOTTOM)], axis=1).mean()
    width = np.linalg.norm(landmarks[MOUTH_RIGHT] - landmarks[MOUTH_LEFT])
    return float(gap / max(width, 1e-6))


def estimate_pose(landmarks: np.ndarray) -> Pose:
    """Rough head pose from 2-D landmarks, good enough to see a head turn or a tilted phone.

    Yaw: where the nose tip sits between the jaw's two ends (centred = 0), read as the sine of the angle.
    Pitch: where the nose tip sits between the eye line and the mouth line, against a frontal ~0.55.
    """
    eye_r = landmarks[RIGHT_EYE].mean(axis=0)
    eye_l = landmarks[LEFT_EYE].mean(axis=0)
    roll = math.atan2(eye_l[1] - eye_r[1], eye_l[0] - eye_r[0])
    # undo roll so yaw and pitch are read along the face's own axes
    rot = np.array([[math.cos(-roll), -math.sin(-roll)], [math.sin(-roll), math.cos(-roll)]])
    pts = (landmarks - landmarks.mean(axis=0)) @ rot.T
    jaw = pts[JAW]
    jaw_mid_x = (jaw[0, 0] + jaw[-1, 0]) / 2
    half_width = max((jaw[-1, 0] - jaw[0, 0]) / 2, 1e-6)
    yaw_sin = np.clip((pts[NOSE_TIP, 0] - jaw_mid_x) / half_width, -1.0, 1.0)
    eye_y = (pts[RIGHT_EYE, 1].mean() + pts[LEFT_EYE, 1].mean()) / 2
    mouth_y = (pts[MOUTH_LEFT, 1] + pts[MOUTH_RIGHT, 1]) / 2
    pitch_ratio = (pts[NOSE_TIP, 1] - eye_y) / max(mouth_y - eye_y, 1e-6)
    pitch_sin = np.clip((pitch_ratio - 0.55) * 2.0, -1.0, 1.0)
    return Pose(
        yaw_deg=math.degrees(math.asin(yaw_sin)),
        pitch_deg=math.degrees(math.asin(pitch_sin)),
        roll_deg=math.degrees(roll),
    )


def contrast_normalised_sharpness(grey: np.ndarray) -> float:
    """Variance of the Laplacian of the crop scaled to unit contrast, x1000.

    Plain Laplacian variance grows with the square of contrast, so a dim but sharp face would read as
    blurred; dividing the crop by its standard deviation leaves only how much fine detail there is.
    """
    grey = grey / max(float(grey.std()), 1e-3)
    lap = (
        -4 * grey[1:-1, 1:-1] + grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:]
    )  # (H-2, W-2)
    return float(lap.var()) * 1000


def _landmarks_look_like_a_face(landmarks: np.ndarray, box: FaceBox) -> bool:
    """Reject HOG hits whose landmarks are not face-shaped (eyes above nose above mouth, sane scale)."""
    eye_r = landmarks[RIGHT_EYE].mean(axis=0)
    eye_l = landmarks[LEFT_EYE].mean(axis=0)
    eye_y = (eye_r[1] + eye_l[1]) / 2
    mouth_y = (landmarks[MOUTH_LEFT, 1] + landmarks[MOUTH_RIGHT, 1]) / 2
    inter_ocular = float(np.linalg.norm(eye_l - eye_r))
    return bool(eye_y < landmarks[NOSE_TIP, 1] < mouth_y and 0.2 * box.width < inter_ocular < 0.8 * box.width)


class FaceAnalyzer:
    """dlib HOG detection + 68 landmarks + quality, on an image scaled down to ``detect_max_side``.

    Detection runs on a downscaled copy (HOG cost grows with pixels; a selfie face stays well above the
    80 px the detector needs); landmarks and crops are computed on the full-resolution image.
    """

    def __init__(self, detect_max_side: int = 480, min_detection_score: float = 0.0) -> None:
        self.detect_max_side = detect_max_side
        self.min_detection_score = min_detection_score
        self._detector = registry.load_once("dlib_hog_detector", dlib.get_frontal_face_detector)
        landmarks_path = str(registry.model_path("dlib_face_landmarks_68"))
        self._predictor = registry.load_once(
            "dlib_face_landmarks_68", lambda: dlib.shape_predictor(landmarks_path)
        )

    def detect(self, image: np.ndarray, *, upsample: int = 0) -> list[FaceObservation]:
        """Faces in an (H, W, 3) uint8 RGB image, largest first; non-face-shaped hits are dropped."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        image = np.ascontiguousarray(image)  # dlib's bindings refuse strided views
        height, width = image.shape[:2]
        scale = min(1.0, self.detect_max_side / max(height, width))
        small = image
        if scale < 1.0:
            small = np.asarray(
                Image.fromarray(image).resize(
                    (round(width * scale), round(height * scale)), Image.Resampling.BILINEAR
                )
            )
        rects, scores, _ = self._detector.run(small, upsample, self.min_detection_score)
        faces = []
        for rect, score in zip(rects, scores, strict=True):
            box = FaceBox(
                rect.left() / scale,
                rect.top() / scale,
                rect.right() / scale,
                rect.bottom() / scale,
                float(score),
            )
            faces.append(self.observe(image, box))
        faces = [f for f in faces if _landmarks_look_like_a_face(f.landmarks, f.box)]
        return sorted(faces, key=lambda f: f.box.area, reverse=True)

    def observe(self, image: np.ndarray, box: FaceBox) -> FaceObservation:
        """Landmarks, aligned chip and quality for a known box (also used to track between detections)."""
        rect = dlib.rectangle(int(box.left), int(box.top), int(box.right), int(box.bottom))
        shape = self._predictor(image, rect)
        landmarks = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)  # (68, 2)
        chip = np.asarray(dlib.get_face_chip(image, shape, size=150, padding=0.25))  # (150, 150, 3)
        grey = chip.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # (150, 150)
        face_px = float(landmarks[:, 1].max() - landmarks[:, 1].min())
        quality = FaceQuality(
            face_px=face_px,
            face_fraction=face_px / min(image.shape[:2]),
            sharpness=contrast_normalised_sharpness(grey[25:125, 25:125]),  # the face itself, not the padding
            brightness=float(grey[25:125, 25:125].mean()),
            pose=estimate_pose(landmarks),
        )
        return FaceObservation(box=box, landmarks=landmarks, quality=quality, chip=chip)


class FaceEmbedder(Protocol):
    """Turns faces into identity vectors; the same person when ``distance < match_threshold``."""

    name: str  # stable id stored next to every embedding, so vectors of different models are never compared
    dim: int  # embedding length
    match_threshold: float  # L2 distance below which two embeddings are the same person

    def embed(self, image: np.ndarray, faces: Sequence[FaceObservation]) -> np.ndarray:
        """(N, dim) float32 embeddings for ``faces`` found in ``image``."""
        ...


def face_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """L2 distance between (..., D) embeddings, broadcast."""
    return np.linalg.norm(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32), axis=-1)


class DlibFaceEmbedder:
    """dlib's ResNet face descriptor (128-D, LFW 99.38 %), fed the 150x150 chips ``FaceAnalyzer`` aligned."""

    name = "dlib_resnet_v1"
    dim = 128
    match_threshold = 0.6

    def __init__(self) -> None:
        path = str(registry.model_path("dlib_face_recognition_resnet"))
        self._model = registry.load_once(
            "dlib_face_recognition_resnet", lambda: dlib.face_recognition_model_v1(path)
        )

    def embed(self, image: np.ndarray, faces: Sequence[FaceObservation]) -> np.ndarray:
        del image  # the chips are already aligned from it
        if not faces:
            return np.zeros((0, self.dim), dtype=np.float32)
        descriptors = self._model.compute_face_descriptor([np.ascontiguousarray(f.chip) for f in faces])
        return np.array([np.array(d) for d in descriptors], dtype=np.float32)  # (N, 128)


# insightface's 5-point template for 112x112 ArcFace crops (eyes, nose tip, mouth corners)
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """The 68-point layout reduced to insightface's 5 points, (5, 2), in its order."""
    return np.stack(
        [
            landmarks[RIGHT_EYE].mean(axis=0),
            landmarks[LEFT_EYE].mean(axis=0),
            landmarks[NOSE_TIP],
            landmarks[MOUTH_LEFT],
            landmarks[MOUTH_RIGHT],
        ]
    ).astype(np.float32)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama) mapping ``src`` (N, 2) onto ``dst`` (N, 2), as a (2, 3) matrix."""
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)  # (2, 2)
    u, s, vt = np.linalg.svd(cov)
    d = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt))])
    rotation = u @ d @ vt
    scale = np.trace(np.diag(s) @ d) / src_c.var(axis=0).sum()
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])  # (2, 3)


def norm_crop(image: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """insightface's ``face_align.norm_crop`` without OpenCV: the (size, size, 3) crop ArcFace expects."""
    matrix = similarity_transform(five_points(landmarks), ARCFACE_TEMPLATE * (size / 112.0))
    inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]  # PIL maps output -> input
    warped = Image.fromarray(image).transform(
        (size, size),
        Image.Transform.AFFINE,
        data=tuple(inverse.reshape(-1)),
        resample=Image.Resampling.BILINEAR,
    )
    return np.asarray(warped)


def read_sha256sums(folder: Path) -> dict[str, str]:
    """``SHA256SUMS`` as written by ``sha256sum *.onnx > SHA256SUMS``: file name -> digest."""
    sums_path = folder / "SHA256SUMS"
    if not sums_path.is_file():
        raise registry.ModelError(
            f"{sums_path} is missing: write it with `sha256sum *.onnx > SHA256SUMS` in {folder} "
            "after checking the files are the ones you licensed"
        )
    sums = {}
    for line in sums_path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


class ArcFaceOnnxEmbedder:
    """An insightface-compatible ArcFace recogniser (e.g. ``w600k_r50.onnx`` of a licensed pack).

    The model folder holds the ONNX file(s) and a ``SHA256SUMS`` the operator writes; the recogniser is the
    ONNX whose input is (N, 3, 112, 112). Preprocessing follows insightface's ``ArcFaceONNX``: 5-point
    alignment to its template, RGB, (x - 127.5) / 127.5 unless the graph normalises by itself.
    Embeddings are L2-normalised, so the L2 threshold 1.15 is a cosine similarity of about 0.34.
    """

    dim: int
    match_threshold = 1.15

    def __init__(self, model_path: Path, sha256: str) -> None:
        import onnx
        import onnxruntime

        registry.verify_file(model_path, sha256, obtain="a licensed ArcFace ONNX placed by the operator")
        self.name = f"arcface_onnx:{sha256[:12]}"
        graph = onnx.load(str(model_path), load_external_data=False).graph
        # insightface: graphs that begin with Sub/Mul normalise their own input
        first_ops = [node.op_type for node in graph.node[:8]]
        normalises_itself = "Sub" in first_ops and "Mul" in first_ops
        self._mean, self._std = (0.0, 1.0) if normalises_itself else (127.5, 127.5)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 2
        self._session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        self._size = int(model_input.shape[2])
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    @classmethod
    def from_model_dir(cls, folder: str | Path | None = None) -> ArcFaceOnnxEmbedder:
        """The recogniser in ``folder`` (default ``$ML_MODEL_DIR/arcface``), verified by its SHA256SUMS."""
        import onnxruntime

        if folder is None:
            import os

            root = os.environ.get(registry.MODEL_DIR_ENV)
            if not root:
                raise registry.ModelError(f"no ArcFace folder given and ${registry.MODEL_DIR_ENV} is not set")
            folder = Path(root) / "arcface"
        folder = Path(folder)
        sums = read_sha256sums(folder)
        for name, digest in sorted(sums.items()):
            path = folder / name
            if not name.endswith(".onnx"):
                continue
            registry.verify_file(path, digest, obtain=f"the operator's licensed copy of {name}")
            session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            if list(session.get_inputs()[0].shape[1:]) == [3, 112, 112]:
                return cls(path, digest)
        raise registry.ModelError(f"no ONNX with a (N, 3, 112, 112) input listed in {folder / 'SHA256SUMS'}")

    def embed(self, image: np.ndarray, faces: Sequence[FaceObservation]) -> np.ndarray:
        if not faces:
            return np.zeros((0, self.dim), dtype=np.float32)
        crops = np.stack([norm_crop(image, f.landmarks, self._size) for f in faces])  # (N, S, S, 3)
        blob = (crops.astype(np.float32) - self._mean) / self._std
        blob = np.ascontiguousarray(blob.transpose(0, 3, 1, 2))  # (N, 3, S, S)
        out = self._session.run(None, {self._input_name: blob})[0].astype(np.float32)  # (N, dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True).clip(min=1e-12)
