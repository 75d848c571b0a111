"""The cameos app's one door into `ml/`: probing uploads and checking a recording's liveness.

`ml` is imported inside the functions, so the web process pays for PyAV only when it probes an upload and
never imports torch; results cross the boundary as frozen dataclasses of plain values.
"""

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from core.errors import CoreError, media_error
from core.exceptions import ApplicationError

# Media error codes from ml.media.errors, as the API names them (the `media_` prefix keeps them apart).
_MEDIA_MESSAGES = {
    "empty_file": "The file is empty.",
    "file_too_large": "The file is too large.",
    "unknown_format": "This is not a video file we can read.",
    "not_a_video": "This is a still image, not a video.",
    "truncated": "The file is incomplete: the upload may have been cut off.",
    "corrupt": "The file is damaged and cannot be read.",
    "no_streams": "The file holds neither video nor sound.",
    "no_video_stream": "The recording has no video.",
    "no_audio_stream": "The recording has no sound: your voice is part of your cameo.",
    "bad_dimensions": "The video's frame size is out of range.",
    "bad_duration": "The recording's length is out of range.",
    "unsupported_codec": "The recording uses a codec we do not accept.",
    "timeout": "The file took too long to read.",
    "decoder_crashed": "The file could not be read safely.",
}


@dataclass(frozen=True)
class RecordingSummary:
    container: str
    duration_s: float
    width: int  # as displayed (rotation applied)
    height: int
    video_codec: str
    audio_codec: str


def probe_recording(path: Path) -> RecordingSummary:
    """Probe an untrusted upload in an isolated process and hold it to the cameo limits. Raises an
    ApplicationError (`media_<reason>`, 400/413) naming what is wrong."""
    from ml.media import MediaError, MediaLimits, probe_isolated

    limits = MediaLimits(
        max_bytes=settings.CAMEO_MAX_UPLOAD_BYTES,
        max_duration_s=120.0,
        require_video=True,
        require_audio=True,
    )
    try:
        info = probe_isolated(path, limits)
    except MediaError as exc:
        status = 413 if exc.code == "file_too_large" else 400
        raise ApplicationError(
            media_error(exc.code), _MEDIA_MESSAGES.get(exc.code, "The file cannot be used."), status=status
        ) from exc
    assert info.video is not None and info.audio is not None  # required by the limits above
    container = _container_of(info.format_name, info.video.codec)
    if container not in settings.CAMEO_ALLOWED_CONTAINERS:
        raise ApplicationError(
            CoreError.MEDIA_UNSUPPORTED_CONTAINER,
            f"Upload an mp4, mov or webm file (got {info.format_name}).",
        )
    if info.video.codec not in settings.CAMEO_ALLOWED_VIDEO_CODECS:
        raise ApplicationError(
            CoreError.MEDIA_UNSUPPORTED_CODEC, f"Video codec {info.video.codec} is not accepted."
        )
    if info.audio.codec not in settings.CAMEO_ALLOWED_AUDIO_CODECS:
        raise ApplicationError(
            CoreError.MEDIA_UNSUPPORTED_CODEC, f"Audio codec {info.audio.codec} is not accepted."
        )
    if not settings.CAMEO_MIN_DURATION_S <= info.duration_s <= settings.CAMEO_MAX_DURATION_S:
        raise ApplicationError(
            CoreError.MEDIA_BAD_DURATION,
            f"Record between {settings.CAMEO_MIN_DURATION_S:g} and {settings.CAMEO_MAX_DURATION_S:g} seconds "
            f"(got {info.duration_s:.1f} s).",
            extra={"duration_s": round(info.duration_s, 2)},
        )
    if min(info.video.display_width, info.video.display_height) < settings.CAMEO_MIN_SIDE:
        raise ApplicationError(
            CoreError.MEDIA_BAD_DIMENSIONS,
            f"The video must be at least {settings.CAMEO_MIN_SIDE} pixels on its short side.",
        )
    return RecordingSummary(
        container=container,
        duration_s=info.duration_s,
        width=info.video.display_width,
        height=info.video.display_height,
        video_codec=info.video.codec,
        audio_codec=info.audio.codec,
    )


def _container_of(format_name: str, video_codec: str) -> str:
    names = set(format_name.split(","))
    if "matroska" in names or "webm" in names:
        return "webm" if video_codec in ("vp8", "vp9", "av1") else "matroska"
    if "mov" in names or "mp4" in names:
        return "mp4"
    return format_name


@dataclass(frozen=True)
class LivenessOutcome:
    passed: bool
    reason: str  # "ok" or the first failing check (ml.identity.liveness.LivenessReason)
    reasons: tuple[str, ...]
    face_embedding: bytes | None  # float32 little-endian
    face_dimensions: int
    face_model: str
    voice_embedding: bytes | None
    transcript: str
    reference_png: bytes | None
    # Scores a moderator or the owner may see: no embedding, no transcript, no image.
    report: dict[str, Any] = field(default_factory=dict)


def check_recording(path: Path, *, digits: str, head_turn: bool) -> LivenessOutcome:
    """Run the liveness and identity checks on a recording (worker processes only: this loads the models)."""
    import numpy as np
    from PIL import Image

    from ml.identity.liveness import check_liveness

    report = check_liveness(path, expected_digits=digits, head_turn=head_turn)
    reference_png = None
    if report.reference_face is not None:
        buffer = io.BytesIO()
        Image.fromarray(report.reference_face).save(buffer, format="PNG")
        reference_png = buffer.getvalue()
    face = report.face_embedding
    voice = report.voice_embedding
    return LivenessOutcome(
        passed=report.passed,
        reason=str(report.verdict),
        reasons=tuple(str(reason) for reason in report.reasons),
        face_embedding=None if face is None else np.asarray(face, dtype="<f4").tobytes(),
        face_dimensions=0 if face is None else int(face.shape[0]),
        face_model=report.face_embedder,
        voice_embedding=None if voice is None else np.asarray(voice, dtype="<f4").tobytes(),
        transcript=report.transcript,
        reference_png=reference_png,
        report={
            "verdict": str(report.verdict),
            "reasons": [str(reason) for reason in report.reasons],
            "duration_s": round(report.duration_s, 2),
            "face_present_ratio": round(report.face_present_ratio, 3),
            "multiple_faces_ratio": round(report.multiple_faces_ratio, 3),
            "good_quality_ratio": round(report.good_quality_ratio, 3),
            "identity_spread": _round(report.identity_spread),
            "identity_outlier_times_s": [round(t, 2) for t in report.identity_outlier_times_s],
            "other_face_frames": report.other_face_frames,
            "motion_score": round(report.motion_score, 4),
            "head_turn_detected": report.head_turn_detected,
            "av_sync_score": _round(report.av_sync_score),
            "speech_s": round(report.speech_s, 2),
            "digit_score": round(report.digit_score, 3),
            "timings_s": {stage: round(seconds, 3) for stage, seconds in report.timings_s.items()},
        },
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


@dataclass(frozen=True)
class ImageFaces:
    count: int
    largest_embedding: bytes | None  # float32 little-endian, of the largest face
    face_model: str


def read_character_image(data: bytes) -> bytes:
    """Validate an uploaded character image and re-encode it as PNG (metadata such as GPS is dropped).
    Runs in the web process with Pillow only."""
    from PIL import Image, UnidentifiedImageError

    max_pixels = settings.CAMEO_CHARACTER_MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as probe:
            # The size comes from the header: an image too large to decode here is refused before any
            # pixel is decoded (or verified).
            if probe.width * probe.height > max_pixels:
                raise ApplicationError(
                    CoreError.MEDIA_BAD_DIMENSIONS,
                    f"The image has {probe.width}x{probe.height} pixels; at most {max_pixels // 1_000_000} "
                    "megapixels are accepted.",
                )
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            if min(image.size) < 128:
                raise ApplicationError(
                    CoreError.MEDIA_BAD_DIMENSIONS, "The image must be at least 128 pixels on each side."
                )
            rgb = image.convert("RGB")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ApplicationError(CoreError.MEDIA_NOT_AN_IMAGE, "Upload a PNG, JPEG or WebP image.") from exc
    out = io.BytesIO()
    rgb.save(out, format="PNG")
    return out.getvalue()


def faces_in_image(png: bytes) -> ImageFaces:
    """Human faces in an image (worker processes only: this loads the face models)."""
    import numpy as np
    from PIL import Image

    from ml.identity.face import DlibFaceEmbedder, FaceAnalyzer

    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    faces = FaceAnalyzer().detect(image, upsample=1)
    if not faces:
        return ImageFaces(count=0, largest_embedding=None, face_model="")
    embedder = DlibFaceEmbedder()
    vector = embedder.embed(image, faces[:1])[0]
    return ImageFaces(
        count=len(faces),
        largest_embedding=np.asarray(vector, dtype="<f4").tobytes(),
        face_model=embedder.name,
    )
