""" "Did this file come from us?": a video someone holds is checked against our C2PA signature and against the
fingerprints stored with every generation, so a re-encoded, rescaled or trimmed copy (whose manifest was
stripped) is still recognised.

The file is untrusted: it is probed and inspected in child processes (`ml.media.probe_isolated`,
`ml.provenance.origin.inspect_isolated`), so the web process never decodes it. The fingerprint comparison is a
scan of the stored fingerprints (cheap bit operations, a few thousand per second); at a scale where that is
too slow, an index on hash bands takes its place behind `fingerprint_matches`.
"""

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from accounts.models import User
from core.errors import media_error
from core.exceptions import ApplicationError
from generation.models import Generation
from generation.selectors import generation_get_visible

SCAN_CHUNK = 2000


@dataclass(frozen=True)
class FingerprintHit:
    generation_id: int
    video_ber: float
    audio_ber: float | None


def _trust_anchors() -> tuple[Path, ...]:
    """Certificates our videos chain to: the production chain when configured, else the development CA."""
    if settings.C2PA_CERT_CHAIN_PATH:
        return (Path(settings.C2PA_CERT_CHAIN_PATH),)
    return (Path(settings.C2PA_DEV_DIR) / "dev_ca.pem",)


def fingerprint_matches(fingerprint: str) -> Iterator[FingerprintHit]:
    """Stored generations whose fingerprint matches, in id order."""
    from ml.provenance.fingerprint import Fingerprint, match

    query = Fingerprint.parse(fingerprint)
    rows = Generation.objects.exclude(fingerprint="").order_by("pk").values_list("pk", "fingerprint")
    last = 0
    while True:
        chunk = list(rows.filter(pk__gt=last)[:SCAN_CHUNK])
        if not chunk:
            return
        for generation_id, stored in chunk:
            result = match(query, stored)
            if result.is_match:
                yield FingerprintHit(generation_id, result.video_ber, result.audio_ber)
        last = chunk[-1][0]


def provenance_check(*, viewer: User, upload: IO[bytes]) -> dict[str, Any]:
    from ml.media import MediaError, MediaLimits, probe_isolated
    from ml.provenance.origin import inspect_isolated

    with tempfile.TemporaryDirectory(prefix="provenance-") as folder:
        local = Path(folder) / "upload"
        with local.open("wb") as target:
            shutil.copyfileobj(upload, target)
        try:
            probe_isolated(
                local, MediaLimits(max_bytes=settings.GENERATION_PROVENANCE_MAX_BYTES, require_video=True)
            )
            inspection = inspect_isolated(local, trust_anchors=_trust_anchors())
        except MediaError as exc:
            raise ApplicationError(
                media_error(exc.code),
                "The file cannot be read as a video.",
                status=413 if exc.code == "file_too_large" else 400,
            ) from exc
    hit = next(fingerprint_matches(inspection.fingerprint), None)
    visible_id = None
    if hit is not None:
        try:
            visible_id = generation_get_visible(viewer=viewer, generation_id=hit.generation_id).pk
        except ApplicationError:
            visible_id = None  # it is ours, but not the viewer's to see: say so without saying which
    signed_by_us = inspection.c2pa_state == "Trusted"
    return {
        "came_from_us": signed_by_us or hit is not None,
        "c2pa": {
            "state": inspection.c2pa_state,
            "signed_by_us": signed_by_us,
            "ai_generated": inspection.ai_generated,
            "engine": inspection.generation.get("engine", "") if signed_by_us else "",
        },
        "fingerprint_matched": hit is not None,
        "matched_generation_id": visible_id,
        "video_bit_error_rate": None if hit is None else round(hit.video_ber, 4),
        "audio_bit_error_rate": None if hit is None or hit.audio_ber is None else round(hit.audio_ber, 4),
    }
