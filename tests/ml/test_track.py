"""ml.identity.track and the robust identity spread: which detection is the subject, and how many stray
frames a recording may have, on hand-made boxes and embeddings (no model)."""

from __future__ import annotations

import numpy as np

from ml.identity.face import FaceBox
from ml.identity.liveness import _identity_consistency
from ml.identity.track import TrackConfig, second_face_frames, track_faces


def box(x: float, y: float, side: float, score: float) -> FaceBox:
    return FaceBox(left=x, top=y, right=x + side, bottom=y + side, score=score)


def drifting_face(frame: int) -> FaceBox:
    """The subject: a 180 px face drifting a few pixels a frame, confidently detected."""
    return box(90 + 4 * np.sin(frame / 3), 170 + 3 * np.cos(frame / 4), 180, 1.6)


def test_a_weak_false_hit_as_large_as_the_face_is_not_the_subject() -> None:
    # given: the case reported in issue 11, a badge under the chin scoring 0.02 in 2 of 46 frames, its box
    # as large as the face's and listed first
    frames = [[drifting_face(f)] for f in range(46)]
    for f in (9, 31):
        frames[f].insert(0, box(90, 400, 181, 0.02))

    tracks = track_faces(frames)

    assert len(tracks.subject) == 46
    assert all(frames[f][i].score == 1.6 for f, i in tracks.subject.items())
    assert sum(track != tracks.subject_track for joined in tracks.track_of for track in joined) == 2


def test_a_poster_detected_more_surely_than_the_face_is_not_the_subject() -> None:
    # given: a small poster face in the corner, scoring higher than the subject in every frame
    frames = [[box(20, 20, 85, 1.4), drifting_face(f)] for f in range(30)]

    tracks = track_faces(frames)

    assert set(tracks.subject.values()) == {1}
    assert all(tracks.track_of[f][0] != tracks.subject_track for f in range(30))


def test_the_subject_is_followed_through_missed_frames_and_a_swap_in_place_stays_on_the_track() -> None:
    # given: the detector misses the face for 5 frames (a head turn), then someone else takes the same spot
    frames = [[] if 10 <= f < 15 else [drifting_face(f)] for f in range(40)]

    tracks = track_faces(frames)

    # then: one track; who is on it is the identity check's question, not the tracker's
    assert sorted(tracks.subject) == [f for f in range(40) if not 10 <= f < 15]
    assert tracks.weights.keys() == {tracks.subject_track}


def test_a_box_that_jumps_across_the_frame_starts_a_new_track() -> None:
    frames = [[drifting_face(f)] for f in range(20)] + [[box(300, 20, 180, 1.6)] for _ in range(5)]

    tracks = track_faces(frames, TrackConfig(max_centre_shift=0.5))

    assert sorted(tracks.subject) == list(range(20))
    assert len(tracks.weights) == 2


def test_nothing_detected_is_no_track() -> None:
    tracks = track_faces([[], []])
    assert (tracks.subject, tracks.subject_track) == ({}, None)


def _person(rng: np.random.Generator, centre: np.ndarray, count: int) -> np.ndarray:
    return centre + rng.normal(0.0, 0.15 / np.sqrt(128), (count, 128)).astype(np.float32)  # ~0.15 apart


def test_one_stray_frame_in_eight_is_reported_but_not_fatal() -> None:
    rng = np.random.default_rng(0)
    subject, other = rng.normal(0, 0.1, 128), rng.normal(0, 0.1, 128)  # ~1.4 apart
    embeddings = np.concatenate([_person(rng, subject, 7), _person(rng, other, 1)])

    identity = _identity_consistency(embeddings, threshold=0.6, max_outlier_ratio=0.2)

    assert identity.spread < 0.6
    assert identity.outliers == (7,)
    assert identity.max_distance > 0.6


def test_another_person_in_a_quarter_of_the_frames_is_inconsistent() -> None:
    rng = np.random.default_rng(1)
    subject, other = rng.normal(0, 0.1, 128), rng.normal(0, 0.1, 128)
    embeddings = np.concatenate([_person(rng, subject, 6), _person(rng, other, 2)])

    identity = _identity_consistency(embeddings, threshold=0.6, max_outlier_ratio=0.2)

    assert identity.spread >= 0.6
    assert identity.outliers == (6, 7)


def test_with_few_frames_no_stray_frame_is_forgiven() -> None:
    rng = np.random.default_rng(2)
    subject, other = rng.normal(0, 0.1, 128), rng.normal(0, 0.1, 128)
    embeddings = np.concatenate([_person(rng, subject, 3), _person(rng, other, 1)])

    assert _identity_consistency(embeddings, threshold=0.6, max_outlier_ratio=0.2).spread >= 0.6


def test_a_print_that_fires_weakly_in_most_frames_and_surely_in_a_few_is_not_a_second_face() -> None:
    # given: a face-sized print under the chin, scoring 0.1 in most frames and 0.5 in 8 of 30 (27 %)
    frames = [[drifting_face(f), box(90, 400, 181, 0.5 if f % 4 == 0 else 0.1)] for f in range(30)]

    tracks = track_faces(frames)

    assert second_face_frames(tracks, min_area_ratio=0.3, min_score=0.3) == set()


def test_a_comparably_large_confident_face_is_a_second_face_in_the_frames_it_shows() -> None:
    frames = [[drifting_face(f)] + ([box(300, 170, 150, 1.2)] if f >= 10 else []) for f in range(30)]

    tracks = track_faces(frames)

    assert second_face_frames(tracks, min_area_ratio=0.3, min_score=0.3) == set(range(10, 30))


def test_a_small_poster_is_not_a_second_face() -> None:
    frames = [[box(20, 20, 85, 1.4), drifting_face(f)] for f in range(30)]  # (85/180)^2 = 0.22 of the area

    assert second_face_frames(track_faces(frames), min_area_ratio=0.3, min_score=0.3) == set()
