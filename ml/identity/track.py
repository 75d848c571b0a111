"""Which detection in each sampled frame is the person recording themselves.

A detector fires on more than the subject: a poster behind them, a face-like badge on a shirt, a passer-by.
Taking the largest box per frame lets one weak false hit of the same size replace the subject for a frame,
and the identity check then sees "another person". Instead, detections are linked into tracks by position
and size from frame to frame, and the subject is the track with the most evidence: present in many
frames, large, and confidently detected (detector score). Other tracks are reported, never fatal by
themselves; one that is typically (median over its frames) comparably large and confidently detected is a
second face (``liveness`` decides what that means), so a print that fires weakly in most frames and surely
in a few, or a box size that flickers across a threshold, is judged by what it usually is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ml.identity.face import FaceBox


@dataclass(frozen=True)
class TrackConfig:
    max_centre_shift: float = 0.5  # centre move between linked boxes, in box widths (selfie drift is ~0.1)
    max_size_ratio: float = 1.5  # larger side over smaller side between linked boxes
    max_gap_frames: int = 8  # frames a track may go undetected (a head turn, a blink of the detector)
    max_score_weight: float = 1.0  # detector scores above this weigh no more (sure is sure)


@dataclass(frozen=True)
class Tracks:
    subject: dict[int, int]  # frame index -> index of the subject's box in that frame's detections
    track_of: list[list[int]]  # per frame, per detection: the id of the track it joined
    subject_track: int | None  # id of the subject's track; None when nothing was detected
    weights: dict[int, float]  # track id -> evidence (sum over its boxes of area x capped score)
    members: dict[int, list[tuple[int, FaceBox]]]  # track id -> (frame index, box) in frame order


def _links(last: FaceBox, box: FaceBox, config: TrackConfig) -> float | None:
    """How far ``box`` is from the track's ``last`` box (centre distance over width), or None if too far."""
    width = max(last.width, 1.0)
    shift = math.hypot(
        (box.left + box.right - last.left - last.right) / 2,
        (box.top + box.bottom - last.top - last.bottom) / 2,
    )
    sides = sorted((max(box.width, 1.0), width))
    if shift / width > config.max_centre_shift or sides[1] / sides[0] > config.max_size_ratio:
        return None
    return shift / width


def track_faces(detections: Sequence[Sequence[FaceBox]], config: TrackConfig = TrackConfig()) -> Tracks:
    """Link per-frame detections into tracks and pick the subject's.

    Greedy and online: within a frame the surest detection is placed first, each joins the nearest open
    track it links to (``_links``) that has no box in this frame yet, or starts a new track.
    """
    last_box: dict[int, FaceBox] = {}
    last_frame: dict[int, int] = {}
    weights: dict[int, float] = {}
    members: dict[int, list[tuple[int, FaceBox]]] = {}
    track_of: list[list[int]] = []
    for frame, boxes in enumerate(detections):
        joined = [-1] * len(boxes)
        taken: set[int] = set()
        for index in sorted(range(len(boxes)), key=lambda i: boxes[i].score, reverse=True):
            box = boxes[index]
            candidates = [
                (distance, track)
                for track, last in last_box.items()
                if track not in taken
                and frame - last_frame[track] <= config.max_gap_frames + 1
                and (distance := _links(last, box, config)) is not None
            ]
            track = min(candidates)[1] if candidates else len(last_box)
            taken.add(track)
            joined[index] = track
            last_box[track], last_frame[track] = box, frame
            members.setdefault(track, []).append((frame, box))
            weights[track] = weights.get(track, 0.0) + box.area * min(
                max(box.score, 0.0), config.max_score_weight
            )
        track_of.append(joined)
    subject_track = max(weights, key=lambda t: weights[t]) if weights else None
    subject = {
        frame: joined.index(subject_track)
        for frame, joined in enumerate(track_of)
        if subject_track is not None and subject_track in joined
    }
    return Tracks(
        subject=subject, track_of=track_of, subject_track=subject_track, weights=weights, members=members
    )


def second_face_frames(tracks: Tracks, *, min_area_ratio: float, min_score: float) -> set[int]:
    """Frames showing another track that is typically at least ``min_area_ratio`` of the subject's area
    and detected with a median score of at least ``min_score``: a second face, not a pattern."""
    if tracks.subject_track is None:
        return set()
    subject_area = float(np.median([box.area for _, box in tracks.members[tracks.subject_track]]))
    frames: set[int] = set()
    for track, boxes in tracks.members.items():
        if track == tracks.subject_track:
            continue
        area = float(np.median([box.area for _, box in boxes]))
        score = float(np.median([box.score for _, box in boxes]))
        if area >= min_area_ratio * subject_area and score >= min_score:
            frames.update(frame for frame, _ in boxes)
    return frames
