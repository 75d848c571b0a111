"""ml.identity.motion on synthetic signals: the measures mean what the liveness checks assume."""

from __future__ import annotations

import numpy as np

from ml.identity.motion import av_sync_score, rigid_motion, speech_mouth_overlap, yaw_range_deg


def _speech_envelope(n: int = 40) -> np.ndarray:
    rng = np.random.default_rng(1)
    return np.convolve(rng.random(n) > 0.5, np.ones(2) / 2, "same").astype(float)


def test_mouth_following_the_sound_is_in_sync_even_with_a_lag() -> None:
    loudness = _speech_envelope()
    mouth_in_step = 0.05 + 0.3 * loudness
    mouth_late = np.roll(mouth_in_step, 2)  # 250 ms late at 8 fps

    assert av_sync_score(mouth_in_step, loudness, max_lag=2) > 0.99
    assert av_sync_score(mouth_late, loudness, max_lag=2) > 0.9
    assert av_sync_score(mouth_late, loudness, max_lag=0) < 0.6


def test_a_mouth_that_never_moves_has_no_sync_and_no_overlap() -> None:
    loudness = _speech_envelope()
    still = np.full_like(loudness, 0.1) + np.random.default_rng(2).normal(0, 0.001, loudness.shape)
    assert av_sync_score(still, loudness, max_lag=2) == 0.0
    assert speech_mouth_overlap(still, loudness > 0) == 0.0
    assert speech_mouth_overlap(0.05 + 0.3 * loudness, loudness > 0) > 0.9


def test_rigid_motion_is_zero_for_a_still_face_and_scale_free() -> None:
    base = np.random.default_rng(3).random((68, 2)) * 100
    assert rigid_motion([base, base, base]) == 0.0
    moving = [base + i for i in range(5)]
    assert np.isclose(rigid_motion(moving), rigid_motion([m * 3 for m in moving]))  # closer face, same motion
    assert rigid_motion(moving) > 0


def test_yaw_range_ignores_a_single_outlier() -> None:
    yaws = np.zeros(40)
    yaws[7] = 60.0
    assert yaw_range_deg(yaws) < 1.0
    assert yaw_range_deg(np.linspace(-10, 15, 40)) > 20
