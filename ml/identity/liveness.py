"""Liveness and identity from one cameo recording: is it one live person, who, and how they sound.

``check_liveness(path, expected_digits=..., head_turn=...)`` probes the file, then runs two branches in
parallel (face on the sampled frames; voice and speech on the 16 kHz audio) and returns a frozen
``LivenessReport``: the evidence, the face and voice embeddings, the transcript, a reference face crop and a
``verdict``. Unusable media raises ``ml.media.MediaError`` (its own codes) before any model runs; set
``LivenessConfig(isolated_probe=True)`` (or call ``ml.media.probe_isolated`` first) for files nothing has
vetted yet, so a decoder crash cannot take the worker down. Build ``IdentityModels.default()`` once per
process and pass it to every call.

Reason codes (``LivenessReason``; stable: the web side maps them to user-facing errors). ``verdict`` is the
first failing check in this order; ``reasons`` lists every failing check.

======================  ==========================================================================
code                    meaning
======================  ==========================================================================
ok                      every check passed
no_face                 a face in fewer than ``min_face_ratio`` of the sampled frames
multiple_faces          a second, comparably large and confident face in more than ``max_multiple_face_ratio``
low_quality             most face frames too small, blurred, dark, bright, turned or tilted
static_image            no head or mouth motion: a photo or a frozen frame
identity_inconsistent   more than ``max_identity_outlier_ratio`` of the embedded frames are another person
no_speech               too little voiced audio to embed a voice or hear the digits
digits_mismatch         the challenge digits were not heard (score below ``min_digit_score``)
head_turn_missing       a head turn was requested and the yaw never changed enough
av_out_of_sync          (only with ``require_av_sync``) mouth motion does not follow the speech
======================  ==========================================================================

The face checks look at one person: the subject's track (``ml.identity.track``), the detections linked by
position and size from frame to frame that carry the most evidence (frames x area x detector score). A
poster behind the subject or a weak false hit on a shirt is another track: reported
(``other_face_frames``), and a second face only when comparably large and confidently detected. Identity
is judged robustly: a few embedded frames far from the medoid are reported as outliers
(``identity_outlier_times_s``) and left out of the embedding; more than ``max_identity_outlier_ratio`` of
them (another person for a substantial part of the recording) is ``identity_inconsistent``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from ml.identity.face import (
    DlibFaceEmbedder,
    FaceAnalyzer,
    FaceEmbedder,
    FaceObservation,
    QualityThresholds,
    face_distance,
    quality_issues,
)
from ml.identity.motion import (
    av_sync_score,
    loudness_at,
    rigid_motion,
    speech_mouth_overlap,
    yaw_range_deg,
)
from ml.identity.track import TrackConfig, second_face_frames, track_faces
from ml.identity.voice import VoiceActivity, VoiceEmbedder, detect_voice_activity
from ml.media import (
    SPEECH_SAMPLE_RATE,
    FrameSamples,
    MediaInfo,
    MediaLimits,
    extract_audio,
    probe,
    probe_isolated,
    sample_frames,
)
from ml.speech.asr import SpeechRecognizer, Word, match_digits


class LivenessReason(StrEnum):
    OK = "ok"
    NO_FACE = "no_face"
    MULTIPLE_FACES = "multiple_faces"
    LOW_QUALITY = "low_quality"
    STATIC_IMAGE = "static_image"
    IDENTITY_INCONSISTENT = "identity_inconsistent"
    NO_SPEECH = "no_speech"
    DIGITS_MISMATCH = "digits_mismatch"
    HEAD_TURN_MISSING = "head_turn_missing"
    AV_OUT_OF_SYNC = "av_out_of_sync"


@dataclass(frozen=True)
class LivenessConfig:
    sample_fps: float = (
        8.0  # frames analysed per second: enough for lip motion, cheap enough for 1x real time
    )
    analysis_max_side: int = 640  # frames are decoded at most this large (landmarks and crops are made here)
    detect_max_side: int = 480  # HOG runs on a copy this large: a selfie face stays far above its 80 px
    max_embedded_frames: int = 8  # identity embeddings computed on this many evenly spaced face frames
    min_face_ratio: float = 0.6  # share of frames that must show a face
    second_face_area_ratio: float = 0.3  # another track typically this fraction of the subject's area...
    min_second_face_score: float = 0.3  # ...and detected this surely (median) is a second face, not a pattern
    max_multiple_face_ratio: float = 0.2  # share of frames allowed to show a second face (passers-by)
    max_identity_outlier_ratio: float = 0.2  # share of embedded frames that may be someone else (1 in 8)
    track: TrackConfig = field(default_factory=TrackConfig)  # how detections link into the subject's track
    min_good_quality_ratio: float = 0.5  # share of face frames that must pass ``quality``
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    static_max_motion: float = 0.006  # rigid landmark motion (per IOD per frame) at or below this is still
    static_max_mouth_std: float = 0.02  # and mouth opening this steady: no living face is that still
    min_head_turn_deg: float = 12.0  # yaw spread that counts as the requested head turn
    min_digit_score: float = 0.75  # ``match_digits`` score needed; forgives one digit in four
    min_speech_s: float = 1.0  # voiced seconds needed for the voice embedding and the digits
    require_av_sync: bool = False  # sync is reported always; enforced only when asked
    min_av_sync: float = 0.3  # correlation below which mouth and speech are out of step
    limits: MediaLimits = field(default_factory=MediaLimits)
    isolated_probe: bool = False  # probe in a child process (+~0.3 s): for files nothing has vetted yet


@dataclass(frozen=True, eq=False)
class LivenessReport:
    verdict: LivenessReason  # "ok" or the first failing check (see the module docstring)
    reasons: tuple[LivenessReason, ...]  # every failing check, in priority order; empty when ok
    duration_s: float
    frames_sampled: int
    # face
    face_present_ratio: float  # frames with a face / frames sampled
    multiple_faces_ratio: float  # frames with a comparably large, confident second face / frames sampled
    other_face_frames: int  # frames with any detection outside the subject's track (posters, false hits)
    good_quality_ratio: float  # face frames passing the quality thresholds / face frames
    identity_spread: float | None  # largest distance to the medoid frame, the allowed outliers left out
    identity_max_distance: float | None  # largest distance between any two embedded frames
    identity_outlier_times_s: tuple[float, ...]  # embedded frames at the same-person distance from the medoid
    face_embedding: np.ndarray | None  # (D,) mean of the embeddings of the frames that are not outliers
    face_embedder: str  # which model made face_embedding (never compare across models)
    reference_face: np.ndarray | None  # (150, 150, 3) uint8 RGB aligned crop of the best frame
    reference_time_s: float | None  # when the reference crop was taken
    # motion
    motion_score: float  # median rigid landmark motion per frame, over the inter-ocular distance
    mouth_motion: float  # standard deviation of the mouth opening
    head_turn_requested: bool
    yaw_range_deg: float | None  # spread of the estimated yaw (5th to 95th percentile)
    head_turn_detected: bool | None  # None when no turn was requested
    av_sync_score: float | None  # best mouth-vs-loudness correlation within +-250 ms
    speech_mouth_overlap: float | None  # share of speaking frames with an open mouth
    # voice and speech
    speech_s: float  # voiced seconds (WebRTC VAD)
    voice_embedding: np.ndarray | None  # (256,) unit vector; None with too little speech
    voice_embedder: str
    transcript: str
    words: tuple[Word, ...]
    expected_digits: str
    digits_heard: str
    digit_score: float
    timings_s: Mapping[str, float]  # seconds per stage, for the bench and the logs

    @property
    def passed(self) -> bool:
        return self.verdict is LivenessReason.OK


@dataclass(frozen=True)
class IdentityModels:
    """The models one report needs; build once per process (``default()``) and pass to every call."""

    analyzer: FaceAnalyzer
    face_embedder: FaceEmbedder
    voice: VoiceEmbedder
    asr: SpeechRecognizer

    @classmethod
    def default(cls, config: LivenessConfig = LivenessConfig()) -> IdentityModels:
        return cls(
            analyzer=FaceAnalyzer(detect_max_side=config.detect_max_side),
            face_embedder=DlibFaceEmbedder(),
            voice=VoiceEmbedder(),
            asr=SpeechRecognizer(),
        )


@dataclass(frozen=True, eq=False)
class _AudioEvidence:
    audio: np.ndarray  # (N,) float32 16 kHz
    activity: VoiceActivity
    speech_s: float
    voice_embedding: np.ndarray | None
    transcript: str
    words: tuple[Word, ...]
    timings_s: dict[str, float]


def _audio_branch(
    path: Path, info: MediaInfo, models: IdentityModels, config: LivenessConfig
) -> _AudioEvidence:
    timings = {}
    start = time.perf_counter()
    audio = extract_audio(path, limits=config.limits, info=info)
    timings["audio_decode"] = time.perf_counter() - start
    start = time.perf_counter()
    activity = detect_voice_activity(audio)
    voice = models.voice.embed(audio, activity)
    timings["voice"] = time.perf_counter() - start
    start = time.perf_counter()
    transcript = models.asr.transcribe(audio) if activity.speech_s > 0 else None
    timings["asr"] = time.perf_counter() - start
    return _AudioEvidence(
        audio=audio,
        activity=activity,
        speech_s=activity.speech_s,
        voice_embedding=voice.embedding,
        transcript=transcript.text if transcript else "",
        words=transcript.words if transcript else (),
        timings_s=timings,
    )


@dataclass(frozen=True, eq=False)
class _FaceEvidence:
    samples: FrameSamples
    found: dict[int, FaceObservation]  # sampled frame index -> the subject's face there
    multiple_face_frames: int  # frames with a comparably large, confident second face
    other_face_frames: int  # frames with any detection outside the subject's track
    embedded_frames: list[int]  # frame indices whose subject face was embedded
    embeddings: np.ndarray  # (K, D) one per embedded frame
    timings_s: dict[str, float]


def _face_branch(
    path: Path, info: MediaInfo, models: IdentityModels, config: LivenessConfig
) -> _FaceEvidence:
    # 3. sample frames, detect faces in each, and follow the subject from frame to frame
    start = time.perf_counter()
    samples = sample_frames(
        path, fps=config.sample_fps, max_side=config.analysis_max_side, limits=config.limits, info=info
    )
    timings = {"video_decode": time.perf_counter() - start}
    start = time.perf_counter()
    detections = [models.analyzer.detect(image) for image in samples.frames]
    tracks = track_faces([[face.box for face in faces] for faces in detections], config.track)
    found = {index: detections[index][subject] for index, subject in tracks.subject.items()}
    multiple = len(
        second_face_frames(
            tracks, min_area_ratio=config.second_face_area_ratio, min_score=config.min_second_face_score
        )
    )
    other = sum(any(track != tracks.subject_track for track in joined) for joined in tracks.track_of)
    timings["face_detect"] = time.perf_counter() - start

    # 4. identity embeddings on evenly spaced face frames (embedding costs ~5x detection)
    start = time.perf_counter()
    face_idx = sorted(found)
    count = min(len(face_idx), config.max_embedded_frames)
    chosen = sorted({face_idx[round(k)] for k in np.linspace(0, len(face_idx) - 1, count)}) if count else []
    embeddings = (
        np.concatenate([models.face_embedder.embed(samples.frames[i], [found[i]]) for i in chosen])
        if chosen
        else np.zeros((0, 0), dtype=np.float32)
    )  # (K, D)
    timings["face_embed"] = time.perf_counter() - start
    return _FaceEvidence(samples, found, multiple, other, chosen, embeddings, timings)


def check_liveness(
    path: str | Path,
    *,
    expected_digits: str,
    head_turn: bool = False,
    config: LivenessConfig = LivenessConfig(),
    models: IdentityModels | None = None,
) -> LivenessReport:
    """Judge one recording against its challenge. Raises ``MediaError`` for unusable media and
    ``ValueError`` for a malformed challenge; every other outcome is a report with a verdict."""
    # 1. check inputs and the container
    if not expected_digits.isdigit():
        raise ValueError(f"expected_digits must be digits only, got {expected_digits!r}")
    total_start = time.perf_counter()
    path = Path(path)
    models = models or IdentityModels.default(config)
    start = time.perf_counter()
    info = probe_isolated(path, config.limits) if config.isolated_probe else probe(path, config.limits)
    timings = {"probe": time.perf_counter() - start}

    # 2. audio branch (voice, speech) in a thread while this one does the faces (3, 4)
    with ThreadPoolExecutor(max_workers=1) as pool:
        audio_future = pool.submit(_audio_branch, path, info, models, config)
        face_evidence = _face_branch(path, info, models, config)
        audio_evidence = audio_future.result()
    timings.update(face_evidence.timings_s)
    timings.update(audio_evidence.timings_s)
    samples, found, embeddings = face_evidence.samples, face_evidence.found, face_evidence.embeddings
    chosen, multiple = face_evidence.embedded_frames, face_evidence.multiple_face_frames
    face_idx = sorted(found)

    # 5. evidence from the face track
    n_frames = len(samples.frames)
    faces_seen = [found[i] for i in face_idx]
    good = [not quality_issues(f.quality, config.quality) for f in faces_seen]
    identity_spread = identity_max = None
    outlier_times: tuple[float, ...] = ()
    face_embedding = reference = reference_time = None
    if len(embeddings):
        identity = _identity_consistency(
            embeddings, models.face_embedder.match_threshold, config.max_identity_outlier_ratio
        )
        identity_spread, identity_max = identity.spread, identity.max_distance
        outlier_times = tuple(float(samples.times_s[chosen[k]]) for k in identity.outliers)
        inliers = [k for k in range(len(chosen)) if k not in identity.outliers]
        face_embedding = embeddings[inliers].mean(axis=0)
        if np.allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-3):  # unit-norm models (ArcFace)
            face_embedding = face_embedding / max(float(np.linalg.norm(face_embedding)), 1e-12)
        best = max((chosen[k] for k in inliers), key=lambda i: _reference_score(found[i]))
        reference, reference_time = found[best].chip, float(samples.times_s[best])
    tracks = [f.landmarks for f in faces_seen]
    mouth = np.array([f.mouth_openness for f in faces_seen])
    motion = rigid_motion(tracks)
    mouth_std = float(mouth.std()) if len(mouth) else 0.0
    yaw_range = yaw_range_deg(np.array([f.quality.pose.yaw_deg for f in faces_seen])) if faces_seen else None
    face_times = samples.times_s[face_idx] if face_idx else np.zeros(0)
    sync = overlap = None
    if len(face_idx) >= 4:
        loudness = loudness_at(audio_evidence.audio, SPEECH_SAMPLE_RATE, face_times, 1.0 / config.sample_fps)
        sync = av_sync_score(mouth, loudness, max_lag=max(1, round(0.25 * config.sample_fps)))
        overlap = speech_mouth_overlap(mouth, audio_evidence.activity.mask_at(face_times))
    digits = match_digits(expected_digits, audio_evidence.transcript, min_score=config.min_digit_score)

    # 6. verdict: every failing check, in priority order
    face_ratio = len(face_idx) / max(n_frames, 1)
    checks = [
        (LivenessReason.NO_FACE, face_ratio < config.min_face_ratio),
        (LivenessReason.MULTIPLE_FACES, multiple / max(n_frames, 1) > config.max_multiple_face_ratio),
        (LivenessReason.LOW_QUALITY, bool(good) and np.mean(good) < config.min_good_quality_ratio),
        (
            LivenessReason.STATIC_IMAGE,
            bool(faces_seen)
            and motion <= config.static_max_motion
            and mouth_std <= config.static_max_mouth_std,
        ),
        (
            LivenessReason.IDENTITY_INCONSISTENT,
            identity_spread is not None and identity_spread >= models.face_embedder.match_threshold,
        ),
        (LivenessReason.NO_SPEECH, audio_evidence.speech_s < config.min_speech_s),
        (LivenessReason.DIGITS_MISMATCH, not digits.matched),
        (LivenessReason.HEAD_TURN_MISSING, head_turn and (yaw_range or 0.0) < config.min_head_turn_deg),
        (LivenessReason.AV_OUT_OF_SYNC, config.require_av_sync and (sync or 0.0) < config.min_av_sync),
    ]
    reasons = tuple(reason for reason, failed in checks if failed)
    timings["total"] = time.perf_counter() - total_start
    return LivenessReport(
        verdict=reasons[0] if reasons else LivenessReason.OK,
        reasons=reasons,
        duration_s=info.duration_s,
        frames_sampled=n_frames,
        face_present_ratio=face_ratio,
        multiple_faces_ratio=multiple / max(n_frames, 1),
        other_face_frames=face_evidence.other_face_frames,
        good_quality_ratio=float(np.mean(good)) if good else 0.0,
        identity_spread=identity_spread,
        identity_max_distance=identity_max,
        identity_outlier_times_s=outlier_times,
        face_embedding=face_embedding,
        face_embedder=models.face_embedder.name,
        reference_face=reference,
        reference_time_s=reference_time,
        motion_score=motion,
        mouth_motion=mouth_std,
        head_turn_requested=head_turn,
        yaw_range_deg=yaw_range,
        head_turn_detected=(yaw_range or 0.0) >= config.min_head_turn_deg if head_turn else None,
        av_sync_score=sync,
        speech_mouth_overlap=overlap,
        speech_s=audio_evidence.speech_s,
        voice_embedding=audio_evidence.voice_embedding,
        voice_embedder=models.voice.name,
        transcript=audio_evidence.transcript,
        words=audio_evidence.words,
        expected_digits=expected_digits,
        digits_heard=digits.heard,
        digit_score=digits.score,
        timings_s=dict(timings),
    )


@dataclass(frozen=True)
class _IdentityConsistency:
    spread: float  # distance to the medoid, largest once up to the allowed number of outliers are left out
    max_distance: float  # largest distance between any two embeddings
    outliers: tuple[int, ...]  # embeddings at or beyond the same-person distance from the medoid


def _identity_consistency(
    embeddings: np.ndarray, threshold: float, max_outlier_ratio: float
) -> _IdentityConsistency:
    """How far (K, D) frame embeddings stray from their medoid, forgiving ``max_outlier_ratio`` of them.

    ``spread >= threshold`` exactly when more frames than allowed are another person: with 8 frames and
    0.2, one stray frame (a missed track, a motion-blurred face) is reported but not fatal; two or more (a
    swap for a quarter of the recording or longer) are.
    """
    pairwise = face_distance(embeddings[:, None, :], embeddings[None, :, :])  # (K, K)
    medoid = int(pairwise.sum(axis=1).argmin())
    distances = pairwise[medoid]  # (K,)
    allowed = int(max_outlier_ratio * len(distances))
    return _IdentityConsistency(
        spread=float(np.sort(distances)[len(distances) - 1 - allowed]),
        max_distance=float(pairwise.max()),
        outliers=tuple(int(k) for k in np.flatnonzero(distances >= threshold)),
    )


def _reference_score(face: FaceObservation) -> float:
    """Prefer a sharp, frontal, closed-mouth frame for the reference crop."""
    q = face.quality
    return (
        q.sharpness
        * q.face_px
        / (1.0 + abs(q.pose.yaw_deg) + abs(q.pose.roll_deg))
        / (1.0 + 5 * face.mouth_openness)
    )
