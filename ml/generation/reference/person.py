"""The cameo's person, cut out of their own recording: the pixels the renderer composites into a scene.

``footage_from_recording(path)`` decodes the cameo's recording (the selfie clip the owner verified with:
face, hair, shoulders, head motion and real speech), finds the face in every sampled frame (dlib HOG + 68
landmarks) and cuts the person out with OpenCV's GrabCut, seeded by the face box and landmarks (no
weights beyond dlib's):

1. the reference frame is the most frontal frame with the mouth closed; GrabCut runs on it once, with
   the landmarks' hull and the neck below the chin as sure foreground, a head-and-shoulders region around
   the face as probable foreground, and the frame's top corners and sides outside it as sure background;
2. the matte is cleaned (the connected part that holds the face, holes closed) and feathered;
3. every other frame gets that matte moved by the similarity transform between its landmarks and the
   reference frame's (the person moves as a whole in a selfie clip), so the matte follows the head.

``footage_from_photo(image)`` is the fallback when only a photo (or the stored reference crop) is known:
one frame, cut out the same way, with mouth shapes made by dropping the jaw (``ml.audio.lipsync.open_mouth``)
so speech still moves the mouth.

Per frame the footage keeps its mouth openness (inner-lip gap over mouth width) so the renderer can pick
frames by the dialogue's loudness, and the face box so it can place and scale the person.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ml.identity.face import FaceAnalyzer, FaceObservation

SAMPLE_FPS = 12.0  # recording frames kept per second: enough for lips, few enough to cut out quickly
MAX_SECONDS = 8.0  # of the recording
WORK_MAX_SIDE = 480  # frames are scaled so their long side is at most this before anything else
FEATHER_PX = 2.0  # Gaussian sigma of the matte's edge
GRABCUT_ITERATIONS = 4

_CACHE: dict[tuple[str, int, float], PersonFootage] = {}
_CACHE_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class PersonFootage:
    """A person's frames with their mattes, in the recording's order. ``eq=False``: arrays do not compare."""

    frames: tuple[np.ndarray, ...]  # each (h, w, 3) uint8 RGB, all the same size
    alphas: tuple[np.ndarray, ...]  # each (h, w) float32 in [0, 1]: 1 on the person
    face_boxes: np.ndarray  # (N, 4) float32 left, top, right, bottom of the face in frame pixels
    landmarks: np.ndarray  # (N, 68, 2) float32
    openness: np.ndarray  # (N,) float32 mouth openness (``ml.identity.face.mouth_openness``)
    fps: float  # frames per second of ``frames`` in the recording's time
    source: str  # "recording" or "photo"
    clothing: tuple[int, int, int] | None = None  # RGB of what the person wears; None: the footage shows none

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def closed(self) -> np.ndarray:
        """(M,) indices of the frames whose mouth is closed (the lower third of openness), in order."""
        threshold = float(np.quantile(self.openness, 0.34)) if len(self) > 2 else float(self.openness.max())
        return np.flatnonzero(self.openness <= threshold + 1e-6)


def _scaled(image: np.ndarray, max_side: int) -> np.ndarray:
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1.0:
        return np.ascontiguousarray(image)
    size = (max(2, round(width * scale)), max(2, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _observe(analyzer: FaceAnalyzer, frame: np.ndarray) -> FaceObservation | None:
    faces = analyzer.detect(frame, upsample=1 if min(frame.shape[:2]) < 240 else 0)
    return faces[0] if faces else None


def grabcut_matte(image: np.ndarray, face: FaceObservation) -> np.ndarray:
    """(H, W) float32 matte of the person whose face is ``face`` in ``image`` (module docstring, step 1-2)."""
    height, width = image.shape[:2]
    box = face.box
    face_w, face_h = box.width, box.height
    cx = (box.left + box.right) / 2
    mask = np.full((height, width), cv2.GC_BGD, np.uint8)
    # probable person, a head-and-shoulders silhouette: an ellipse for the head and hair around the face,
    # the neck under the chin, shoulders widening below it down to the bottom edge
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cy = (box.top + box.bottom) / 2 - 0.12 * face_h
    head = ((xx - cx) / (0.76 * face_w)) ** 2 + ((yy - cy) / (0.85 * face_h)) ** 2 <= 1.0
    chin_y = float(face.landmarks[8, 1])
    shoulders_y = chin_y + 0.3 * face_h
    neck = (yy >= cy) & (yy < shoulders_y) & (np.abs(xx - cx) <= 0.45 * face_w)
    body = (yy >= shoulders_y) & (np.abs(xx - cx) <= 0.6 * face_w + (yy - shoulders_y) * 1.4)
    probable = head | neck | body
    mask[probable] = cv2.GC_PR_FGD
    # sure person: the face's landmarks hull and the neck under the chin
    hull = cv2.convexHull(face.landmarks.astype(np.int32))
    cv2.fillConvexPoly(mask, hull, int(cv2.GC_FGD))
    mask[(np.abs(xx - cx) <= 0.25 * face_w) & (yy >= chin_y) & (yy <= shoulders_y)] = cv2.GC_FGD
    if not (mask == cv2.GC_BGD).any():  # a face filling the picture: the outer rim is background
        mask[[0, -1], :] = cv2.GC_PR_BGD
        mask[:, [0, -1]] = cv2.GC_PR_BGD
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    cv2.grabCut(
        bgr, mask, (0, 0, 1, 1), background_model, foreground_model, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK
    )
    person = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    # keep the part holding the face, close small holes
    count, labels = cv2.connectedComponents(person)
    if count > 2:
        face_label = np.bincount(labels[cv2.fillConvexPoly(np.zeros_like(person), hull, 1) > 0]).argmax()
        person = (labels == max(face_label, 1)).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    person = cv2.morphologyEx(person, cv2.MORPH_CLOSE, kernel, iterations=2)
    person = cv2.erode(person, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))  # no background halo
    return cv2.GaussianBlur(person.astype(np.float32), (0, 0), FEATHER_PX)


_STABLE = np.r_[0:17, 27:36, 36:48]  # jaw, nose, eyes: landmarks that move with the head, not the mouth


def _moved(matte: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``matte`` drawn for landmarks ``source`` moved onto ``target`` (similarity transform)."""
    transform, _ = cv2.estimateAffinePartial2D(source[_STABLE], target[_STABLE])
    if transform is None:
        return matte
    height, width = matte.shape
    return cv2.warpAffine(
        matte, transform, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def _clear_edges(matte: np.ndarray, share: float = 0.045) -> np.ndarray:
    """The matte with its top, left and right rims cleared (a drifting, zooming phone leaves borders
    there); the bottom rim stays: the body continues below the picture."""
    band = max(3, round(share * min(matte.shape)))
    height, width = matte.shape
    # zero on the rim, rising over as much again inside it: a head that touches the edge fades out
    rows = np.clip((np.arange(height, dtype=np.float32) - band) / band, 0, 1)
    columns = np.arange(width, dtype=np.float32)
    columns = np.clip(np.minimum(columns - band, width - 1 - band - columns) / band, 0, 1)
    return matte * rows[:, None] * columns[None, :]


def _reference_index(faces: list[FaceObservation]) -> int:
    """The most frontal frame among those with the mouth closed (lower half of openness)."""
    openness = np.array([f.mouth_openness for f in faces])
    closed = openness <= np.median(openness) + 1e-6
    turn = np.array([abs(f.quality.pose.yaw_deg) + abs(f.quality.pose.roll_deg) for f in faces])
    return int(np.argmin(np.where(closed, turn, np.inf)))


def _footage(
    frames: list[np.ndarray], faces: list[FaceObservation], fps: float, source: str
) -> PersonFootage:
    reference = _reference_index(faces)
    matte = grabcut_matte(frames[reference], faces[reference])
    alphas = tuple(
        _clear_edges(matte if i == reference else _moved(matte, faces[reference].landmarks, face.landmarks))
        for i, face in enumerate(faces)
    )
    return PersonFootage(
        frames=tuple(frames),
        alphas=alphas,
        face_boxes=np.array([(f.box.left, f.box.top, f.box.right, f.box.bottom) for f in faces], np.float32),
        landmarks=np.stack([f.landmarks for f in faces]).astype(np.float32),
        openness=np.array([f.mouth_openness for f in faces], np.float32),
        fps=fps,
        source=source,
        clothing=_clothing(frames[reference], matte, faces[reference]),
    )


def _clothing(frame: np.ndarray, matte: np.ndarray, face: FaceObservation) -> tuple[int, int, int] | None:
    """The median colour of the person under the neck (usually the shirt); None when the footage shows
    too little of it or it is near black (a border, a shadow)."""
    height = frame.shape[0]
    cx, width = (face.box.left + face.box.right) / 2, face.box.width
    top = int(face.landmarks[8, 1] + 0.35 * face.box.height)
    if top >= height - 2:
        return None
    left, right = max(int(cx - width), 0), int(cx + width)
    patch = frame[top:, left:right].reshape(-1, 3)
    inside = matte[top:, left:right].reshape(-1) > 0.5
    if inside.sum() < 0.05 * width * width:
        return None
    r, g, b = np.median(patch[inside], axis=0)
    if 0.299 * r + 0.587 * g + 0.114 * b < 35:
        return None
    return int(r), int(g), int(b)


def footage_from_recording(path: str | Path, *, max_seconds: float = MAX_SECONDS) -> PersonFootage:
    """The person in the cameo's recording (module docstring); cached per file in the process.

    Raises ValueError when no frame shows a face."""
    from ml.media.decode import sample_frames

    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    samples = sample_frames(
        path, fps=SAMPLE_FPS, max_side=WORK_MAX_SIDE, max_frames=int(max_seconds * SAMPLE_FPS)
    )
    analyzer = FaceAnalyzer(detect_max_side=WORK_MAX_SIDE)
    frames, faces = [], []
    for frame in samples.frames:
        face = _observe(analyzer, frame)
        if face is not None:
            frames.append(frame)
            faces.append(face)
    if not faces:
        raise ValueError(f"no face in the recording {path.name}: the person cannot be cut out")
    footage = _footage(frames, faces, SAMPLE_FPS, "recording")
    with _CACHE_LOCK:
        _CACHE[key] = footage
    return footage


MOUTH_SHAPES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # jaw drops made from a photo (fraction of the widest)


def footage_from_photo(image: np.ndarray) -> PersonFootage:
    """One photo (or a reference crop) as footage: the cut-out person with made mouth shapes.

    Raises ValueError when the photo shows no face."""
    from ml.audio.lipsync import open_mouth

    image = np.ascontiguousarray(image)
    # small crops (a 150 px aligned chip) are upscaled so dlib sees the face and GrabCut has pixels to work on
    if max(image.shape[:2]) < 320:
        scale = 320 / max(image.shape[:2])
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    image = _scaled(image, WORK_MAX_SIDE)
    analyzer = FaceAnalyzer(detect_max_side=WORK_MAX_SIDE)
    face = _observe(analyzer, image)
    if face is None:
        raise ValueError("no face in the cameo's photo: the person cannot be cut out")
    frames = [open_mouth(image, face.landmarks, amount) for amount in MOUTH_SHAPES]
    faces = [face] * len(frames)
    footage = _footage(frames, faces, SAMPLE_FPS, "photo")
    # the landmarks of a photo do not see the made jaw drop: the openness is the drop itself
    return PersonFootage(
        frames=footage.frames,
        alphas=footage.alphas,
        face_boxes=footage.face_boxes,
        landmarks=footage.landmarks,
        openness=np.array(MOUTH_SHAPES, np.float32) * 0.5,
        fps=footage.fps,
        source="photo",
        clothing=footage.clothing,
    )
