"""Lip sync: move the speaker's mouth with the speech of each dialogue line.

Per line: the speech envelope (RMS over one frame's worth of audio, over its 95th percentile) gives an
opening in [0, 1] for every frame in the line's window; the speaker's face is found with dlib (HOG boxes
on keyframes, 68 landmarks on every frame in between), and its jaw is dropped by that opening (a vertical
warp below the inner-lip line that fades out under the chin) with the gap darkened like an open mouth.
An image-space effect, not a generative lip-sync model (LatentSync-style): it makes speech visibly drive
the mouth on any engine's frames; a GPU worker's lip-sync model would replace ``apply_lipsync``.

Which face is the speaker: with face embeddings for the speakers, each detected face goes to the nearest
identity (dlib L2); without, faces are taken left to right in the order the speakers were mentioned.
A line whose speaker has no face on screen leaves the frames unchanged, and the result says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ml.audio.mix import SpokenLine
from ml.identity.face import (
    MOUTH_LEFT,
    MOUTH_RIGHT,
    DlibFaceEmbedder,
    FaceAnalyzer,
    FaceBox,
    FaceObservation,
    face_distance,
)

DETECT_MIN_SHORT_SIDE = 360  # smaller frames are upscaled for detection: HOG needs faces of ~80 px
KEYFRAME_S = 0.5  # detection every half second; landmarks track the face on the frames in between
MAX_DROP = 0.35  # jaw drop at full opening, as a fraction of the mouth's width


@dataclass(frozen=True, eq=False)
class LineSync:
    """What the stage did for one dialogue line."""

    line_index: int  # in the spec's dialogue
    speaker: str
    frame_indices: np.ndarray  # (L,) int: the frames in the line's window
    opening: np.ndarray  # (L,) float32 in [0, 1]: the envelope-driven opening applied to each of them
    face_found: bool  # False: the speaker's face was not found; those frames are unchanged
    note: str  # one line for logs and the bench ("@maya line 1: 48 frames, face 212 px")


@dataclass(frozen=True, eq=False)
class LipSyncResult:
    frames: np.ndarray  # (F, H, W, 3) uint8: the input with mouths moved (the same array when nothing was)
    lines: tuple[LineSync, ...]

    @property
    def report(self) -> tuple[str, ...]:
        return tuple(line.note for line in self.lines)


def speech_envelope(
    samples: np.ndarray, sample_rate: int, times_s: np.ndarray, window_s: float
) -> np.ndarray:
    """Loudness of ``samples`` at each time, (T,) in [0, 1]: RMS over ``window_s`` around it, divided by the
    95th percentile of that RMS over the line, gated below 10 % (breath and codec noise keep lips shut)."""
    window = max(int(window_s * sample_rate), 1)
    power = np.convolve(np.square(samples, dtype=np.float64), np.ones(window) / window, mode="same")
    rms = np.sqrt(np.maximum(power, 0.0))  # (N,)
    voiced = rms[rms > 1e-4]
    reference = float(np.percentile(voiced, 95)) if len(voiced) else 1.0
    index = np.clip((np.asarray(times_s) * sample_rate).astype(int), 0, len(rms) - 1)
    level = np.clip(rms[index] / max(reference, 1e-9), 0.0, 1.0)
    return np.where(level > 0.1, level, 0.0).astype(np.float32)


def open_mouth(image: np.ndarray, landmarks: np.ndarray, amount: float) -> np.ndarray:
    """``image`` with the jaw dropped by ``amount`` (0..1) below the inner-lip line and the gap darkened."""
    if amount <= 0.02:
        return image
    mouth_w = float(np.linalg.norm(landmarks[MOUTH_RIGHT] - landmarks[MOUTH_LEFT]))
    drop = amount * MAX_DROP * mouth_w
    lip_y = float(landmarks[60:68, 1].mean())  # the inner-lip line
    chin_y = float(landmarks[8, 1])
    cx = float(landmarks[[MOUTH_LEFT, MOUTH_RIGHT], 0].mean())
    height, width = image.shape[:2]
    x0, x1 = max(int(cx - mouth_w), 0), min(int(cx + mouth_w) + 1, width)
    y0, y1 = max(int(lip_y - 2), 0), min(int(chin_y + 0.6 * max(chin_y - lip_y, 1.0)) + 1, height)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return image
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)  # (h, w) output pixel coordinates
    weight_x = np.clip(1 - np.abs(xx - cx) / mouth_w, 0, 1) ** 0.7
    weight_y = np.clip((yy - lip_y) / max(drop, 1.0), 0, 1) * np.clip((y1 - yy) / (y1 - chin_y + 1e-6), 0, 1)
    source_y = yy - drop * weight_x * weight_y  # pull the content from above: the lower lip moves down
    out = image.copy()
    out[y0:y1, x0:x1] = cv2.remap(image, xx, source_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # the opened gap, feathered so its edge does not shimmer from frame to frame
    ellipse = ((xx - cx) / (0.42 * mouth_w)) ** 2 + ((yy - lip_y - drop / 2) / max(drop / 2, 1.0)) ** 2
    alpha = (np.clip((1.0 - ellipse) * 4.0, 0.0, 1.0) * 0.8)[..., None]  # (h, w, 1)
    region = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = (region * (1 - alpha) + np.array([35.0, 12.0, 15.0]) * alpha).astype(np.uint8)
    return out


class _FaceFinder:
    """Detection and landmarks on a copy upscaled to ``DETECT_MIN_SHORT_SIDE`` when frames are small."""

    def __init__(self, analyzer: FaceAnalyzer, frame_shape: tuple[int, ...]) -> None:
        self.analyzer = analyzer
        self.scale = max(1.0, DETECT_MIN_SHORT_SIDE / min(frame_shape[:2]))

    def _scaled(self, frame: np.ndarray) -> np.ndarray:
        if self.scale == 1.0:
            return frame
        return cv2.resize(frame, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_CUBIC)

    def faces(self, frame: np.ndarray) -> list[FaceObservation]:
        """The faces in ``frame``, left to right, in the scaled copy's coordinates."""
        return sorted(self.analyzer.detect(self._scaled(frame)), key=lambda face: face.box.left)

    def landmarks(self, frame: np.ndarray, box: FaceBox) -> np.ndarray:
        """(68, 2) landmarks in the frame's own coordinates."""
        return self.analyzer.observe(self._scaled(frame), box).landmarks / self.scale


def _pick_face(
    faces: list[FaceObservation],
    speaker: str,
    speakers: Sequence[str],
    face_embeddings: Mapping[str, np.ndarray] | None,
) -> FaceBox | None:
    """The speaker's face: the nearest to their embedding when given, else theirs in left-to-right order."""
    if not faces:
        return None
    if face_embeddings and speaker in face_embeddings:
        vectors = DlibFaceEmbedder().embed(faces[0].chip, faces)  # (N, 128); embed reads only the chips
        distances = face_distance(vectors, face_embeddings[speaker][None])
        return faces[int(np.argmin(distances))].box
    order = speakers.index(speaker) if speaker in speakers else 0
    return faces[order].box if order < len(faces) else None


def apply_lipsync(
    frames: np.ndarray,
    fps: float,
    lines: Sequence[SpokenLine],
    sample_rate: int,
    *,
    speakers: Sequence[str],
    face_embeddings: Mapping[str, np.ndarray] | None = None,
    analyzer: FaceAnalyzer | None = None,
) -> LipSyncResult:
    """Move each line's speaker's mouth on ``frames`` (F, H, W, 3) uint8 at ``fps``, whose frame i shows
    time i / fps. ``speakers``: handles in mention order (the left-to-right fallback); ``face_embeddings``:
    handle -> (128,) dlib vector to pick the speaker's face among several."""
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (F, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    analyzer = analyzer or FaceAnalyzer()
    finder = _FaceFinder(analyzer, frames.shape[1:])
    out = frames
    synced = []
    keyframe_step = max(round(KEYFRAME_S * fps), 1)
    for index, spoken in enumerate(lines):
        line = spoken.line
        indices = np.arange(int(np.ceil(line.start * fps - 1e-9)), len(frames))
        indices = indices[indices / fps < line.end]  # (L,)
        opening = speech_envelope(spoken.samples, sample_rate, indices / fps - line.start, 1.0 / fps)
        label = f"@{line.speaker} line {index + 1}"
        # 1. the speaker's face on keyframes; each frame uses the nearest keyframe's box
        boxes: dict[int, FaceBox] = {}
        for key in indices[::keyframe_step]:
            box = _pick_face(finder.faces(out[key]), line.speaker, speakers, face_embeddings)
            if box is not None:
                boxes[int(key)] = box
        if not boxes:
            note = f"{label}: no face found in {len(indices)} frames; frames unchanged"
            synced.append(LineSync(index, line.speaker, indices, opening, face_found=False, note=note))
            continue
        # 2. landmarks on every frame, then the jaw drop
        if out is frames:
            out = frames.copy()
        keys = np.array(sorted(boxes))
        for frame_index, amount in zip(indices, opening, strict=True):
            nearest = int(keys[np.argmin(np.abs(keys - frame_index))])
            landmarks = finder.landmarks(out[frame_index], boxes[nearest])
            out[frame_index] = open_mouth(out[frame_index], landmarks, float(amount))
        face_px = boxes[int(keys[0])].height / finder.scale
        note = f"{label}: {len(indices)} frames, face {face_px:.0f} px, found on {len(boxes)}/{len(indices[::keyframe_step])} keyframes"
        synced.append(LineSync(index, line.speaker, indices, opening, face_found=True, note=note))
    return LipSyncResult(frames=out, lines=tuple(synced))


def speech_levels(
    lines: Sequence[SpokenLine], sample_rate: int, fps: float, frame_count: int
) -> dict[str, np.ndarray]:
    """Per speaker, (frame_count,) float32 loudness in [0, 1] at each output frame's time (frame i shows
    time i / fps), from the lines as mixed (``speech_envelope`` over one frame's worth of audio): what an
    engine that draws mouths itself (``renders_output``) needs instead of ``apply_lipsync``."""
    levels: dict[str, np.ndarray] = {}
    for spoken in lines:
        line = spoken.line
        indices = np.arange(int(np.ceil(line.start * fps - 1e-9)), frame_count)
        indices = indices[indices / fps < line.end]
        if not len(indices):
            continue
        opening = speech_envelope(spoken.samples, sample_rate, indices / fps - line.start, 1.0 / fps)
        track = levels.setdefault(line.speaker, np.zeros(frame_count, np.float32))
        track[indices] = np.maximum(track[indices], opening)
    return levels
