"""ml.identity.liveness end to end on real recordings: positives pass, each negative gets its reason."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from ml.identity.face import ArcFaceOnnxEmbedder, DlibFaceEmbedder, face_distance
from ml.identity.liveness import (
    IdentityModels,
    LivenessConfig,
    LivenessReason,
    LivenessReport,
    check_liveness,
)
from ml.identity.voice import voice_similarity
from ml.media import MediaError, MediaErrorCode
from tests.fixtures import recordings
from tests.fixtures.onnx import export_tiny_arcface

POSITIVES = [
    (recordings.GOOD, False),
    (recordings.GOOD_TURN, True),
    (recordings.GOOD_PORTRAIT_PHONE, False),
    (recordings.POSTER_PORTRAIT, False),
    (recordings.POSTER_LANDSCAPE, False),
    (recordings.BADGE_FALSE_HIT, False),
]
NEGATIVES = [
    (recordings.TWO_PEOPLE, "4729", False, LivenessReason.MULTIPLE_FACES),
    (recordings.PERSON_SWAP, "4729", False, LivenessReason.IDENTITY_INCONSISTENT),
    (recordings.NO_FACE, "4729", False, LivenessReason.NO_FACE),
    (recordings.STILL_SILENT, "4729", False, LivenessReason.STATIC_IMAGE),
    (recordings.WRONG_DIGITS, "4729", False, LivenessReason.DIGITS_MISMATCH),
    (recordings.GOOD, "4729", True, LivenessReason.HEAD_TURN_MISSING),
    (recordings.BLURRED, "4729", False, LivenessReason.LOW_QUALITY),
]


def _summary(report: LivenessReport) -> str:
    return (
        f"{report.verdict} {[r.value for r in report.reasons]} face={report.face_present_ratio:.2f} "
        f"multi={report.multiple_faces_ratio:.2f} others={report.other_face_frames} "
        f"spread={report.identity_spread} outliers={report.identity_outlier_times_s} "
        f"motion={report.motion_score:.4f} "
        f"mouth={report.mouth_motion:.3f} yaw={report.yaw_range_deg} sync={report.av_sync_score} "
        f"speech={report.speech_s:.2f} heard={report.transcript!r} digits={report.digits_heard}"
    )


@pytest.mark.parametrize(("spec", "turn"), POSITIVES, ids=[s.name for s, _ in POSITIVES])
def test_live_recording_passes_with_its_evidence(models: IdentityModels, recording, spec, turn: bool) -> None:
    report = check_liveness(recording(spec), expected_digits=spec.digits, head_turn=turn, models=models)

    print(spec.name, _summary(report))
    assert report.verdict == LivenessReason.OK and report.passed, _summary(report)
    assert report.reasons == ()
    assert report.face_embedding is not None and report.face_embedding.shape == (128,)
    assert report.voice_embedding is not None and report.voice_embedding.shape == (256,)
    assert report.reference_face is not None and report.reference_face.shape == (150, 150, 3)
    assert report.digits_heard.endswith(spec.digits) or report.digit_score >= 0.75
    assert report.av_sync_score is not None and report.av_sync_score > 0.5  # the mouth follows the speech
    assert report.head_turn_detected is (True if turn else None)
    assert report.face_embedder == DlibFaceEmbedder.name


@pytest.mark.parametrize(
    ("spec", "digits", "turn", "reason"), NEGATIVES, ids=[f"{s.name}-{r.value}" for s, _, _, r in NEGATIVES]
)
def test_each_negative_gets_its_reason(models: IdentityModels, recording, spec, digits, turn, reason) -> None:
    report = check_liveness(recording(spec), expected_digits=digits, head_turn=turn, models=models)

    print(spec.name, _summary(report))
    assert report.verdict == reason, _summary(report)
    assert not report.passed


def test_a_weak_false_hit_on_the_shirt_does_not_reject_a_genuine_recording(
    models: IdentityModels, recording
) -> None:
    # given: issue 11's report: in 2 of 28 sampled frames the detector also fires, weakly, on a print on
    # the shirt whose box is as large as the face's (it used to be taken as "the face" in those frames)
    report = check_liveness(recording(recordings.BADGE_FALSE_HIT), expected_digits="4729", models=models)

    # then: the subject is followed, the false hit is seen and set aside, the identity is consistent
    assert report.passed, _summary(report)
    assert report.other_face_frames >= 1
    assert report.multiple_faces_ratio == 0.0
    assert report.identity_spread is not None and report.identity_spread < 0.4
    assert report.identity_outlier_times_s == ()


@pytest.mark.parametrize(
    "spec", [recordings.POSTER_PORTRAIT, recordings.POSTER_LANDSCAPE], ids=lambda s: s.name
)
def test_a_poster_behind_the_subject_is_seen_and_is_not_the_subject(
    models: IdentityModels, recording, spec
) -> None:
    report = check_liveness(recording(spec), expected_digits="4729", models=models)
    good = check_liveness(recording(recordings.GOOD), expected_digits="4729", models=models)

    assert report.passed, _summary(report)
    assert report.other_face_frames >= report.frames_sampled // 2  # the poster is detected...
    assert report.multiple_faces_ratio == 0.0  # ...but it is small: not a second person
    assert face_distance(report.face_embedding, good.face_embedding) < 0.4  # the astronaut, not the poster


def test_still_silent_photo_also_reports_no_speech(models: IdentityModels, recording) -> None:
    report = check_liveness(recording(recordings.STILL_SILENT), expected_digits="4729", models=models)
    assert LivenessReason.NO_SPEECH in report.reasons and report.voice_embedding is None
    assert report.av_sync_score == 0.0


def test_reports_identify_the_person_and_the_voice(models: IdentityModels, recording) -> None:
    good = check_liveness(recording(recordings.GOOD), expected_digits="4729", models=models)
    wrong_digits = check_liveness(recording(recordings.WRONG_DIGITS), expected_digits="4729", models=models)
    other = check_liveness(recording(recordings.GOOD_PORTRAIT_PHONE), expected_digits="5073", models=models)

    # the same person and voice in two recordings match; a different person and voice do not
    assert face_distance(good.face_embedding, wrong_digits.face_embedding) < 0.6
    assert face_distance(good.face_embedding, other.face_embedding) > 0.6
    assert voice_similarity(good.voice_embedding, wrong_digits.voice_embedding) > 0.8
    assert voice_similarity(good.voice_embedding, other.voice_embedding) < 0.9
    assert good.identity_spread is not None and good.identity_spread < 0.6


def test_isolated_probe_option_gives_the_same_report(models: IdentityModels, recording) -> None:
    report = check_liveness(
        recording(recordings.GOOD),
        expected_digits="4729",
        models=models,
        config=LivenessConfig(isolated_probe=True),
    )
    assert report.passed


def test_report_is_frozen_and_media_errors_propagate(
    models: IdentityModels, recording, hostile_files
) -> None:
    report = check_liveness(recording(recordings.GOOD), expected_digits="4729", models=models)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.verdict = LivenessReason.NO_FACE  # type: ignore[misc]
    with pytest.raises(MediaError) as caught:
        check_liveness(hostile_files["no_audio_stream"], expected_digits="4729", models=models)
    assert caught.value.code == MediaErrorCode.NO_AUDIO_STREAM
    with pytest.raises(ValueError, match="'12a4'"):
        check_liveness(Path("unused.mp4"), expected_digits="12a4", models=models)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TorchScript ONNX export, on purpose
def test_the_alternative_face_embedder_plugs_in(models: IdentityModels, recording, tmp_path: Path) -> None:
    export_tiny_arcface(tmp_path / "arcface")
    arcface_models = dataclasses.replace(
        models, face_embedder=ArcFaceOnnxEmbedder.from_model_dir(tmp_path / "arcface")
    )

    report = check_liveness(recording(recordings.GOOD), expected_digits="4729", models=arcface_models)

    assert report.face_embedder.startswith("arcface_onnx:")
    assert report.face_embedding is not None and report.face_embedding.shape == (512,)
    assert np.linalg.norm(report.face_embedding) == pytest.approx(1.0, abs=1e-5)


def test_reason_codes_are_stable() -> None:
    assert [r.value for r in LivenessReason] == [
        "ok", "no_face", "multiple_faces", "low_quality", "static_image", "identity_inconsistent",
        "no_speech", "digits_mismatch", "head_turn_missing", "av_out_of_sync",
    ]  # fmt: skip
