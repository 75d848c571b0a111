"""Signals over time from a face track: rigid and mouth motion, head turn, audio-visual sync.

All measures are scale-free (landmark displacements over the inter-ocular distance, mouth gap over mouth
width), so they mean the same at 256 px or 4K and near or far from the camera.
"""

from __future__ import annotations

import itertools

import numpy as np

from ml.identity.face import LEFT_EYE, RIGHT_EYE


def inter_ocular(landmarks: np.ndarray) -> float:
    return float(np.linalg.norm(landmarks[LEFT_EYE].mean(axis=0) - landmarks[RIGHT_EYE].mean(axis=0)))


def rigid_motion(tracks: list[np.ndarray]) -> float:
    """Median frame-to-frame landmark displacement over the inter-ocular distance.

    A photo on a tripod gives codec noise only (~0.002); a hand-held phone or a living head moves more.
    """
    if len(tracks) < 2:
        return 0.0
    steps = [
        float(np.linalg.norm(b - a, axis=1).mean()) / max(inter_ocular(a), 1e-6)
        for a, b in itertools.pairwise(tracks)
    ]
    return float(np.median(steps))


def yaw_range_deg(yaws: np.ndarray) -> float:
    """Spread of yaw over the clip (95th - 5th percentile), robust to a single bad landmark fit."""
    if len(yaws) < 2:
        return 0.0
    return float(np.percentile(yaws, 95) - np.percentile(yaws, 5))


def loudness_at(audio: np.ndarray, sample_rate: int, times_s: np.ndarray, window_s: float) -> np.ndarray:
    """RMS loudness of ``audio`` in a window centred on each time, (T,)."""
    half = max(1, int(window_s * sample_rate / 2))
    centres = (np.asarray(times_s) * sample_rate).astype(int)
    return np.array(
        [
            np.sqrt(np.mean(audio[max(c - half, 0) : c + half] ** 2)) if c - half < len(audio) else 0.0
            for c in centres
        ]
    )


def av_sync_score(mouth: np.ndarray, loudness: np.ndarray, max_lag: int) -> float:
    """Best Pearson correlation between mouth opening and loudness within +-``max_lag`` samples.

    Lip motion leads or trails the sound by up to ~200 ms (and encoders shift audio by a few frames), so the
    best lag counts. 1 is perfectly in step, ~0 unrelated, and 0 also when either signal is flat.
    """
    best = 0.0
    for lag in range(-max_lag, max_lag + 1):
        a = mouth[max(lag, 0) : len(mouth) + min(lag, 0)]
        b = loudness[max(-lag, 0) : len(loudness) + min(-lag, 0)]
        # a mouth that never moves more than landmark jitter (~0.005) has nothing to correlate
        if len(a) < 4 or a.std() < 0.005 or b.std() < 1e-9:
            continue
        best = max(best, float(np.corrcoef(a, b)[0, 1]))
    return best


def speech_mouth_overlap(mouth: np.ndarray, speaking: np.ndarray, open_delta: float = 0.05) -> float:
    """Share of speaking frames with the mouth open beyond its closed baseline (10th percentile)."""
    if not speaking.any():
        return 0.0
    baseline = np.percentile(mouth, 10)
    return float(((mouth - baseline) > open_delta)[speaking].mean())
