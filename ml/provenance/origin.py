"""What a video file says about where it came from: its C2PA manifest (checked against our trust anchors)
and its perceptual fingerprint. Run in a child process on untrusted files (``inspect_isolated``), so a
decoder crash or hang cannot take the caller down; ``python -m ml.provenance.origin`` reads a JSON request
on stdin and writes a JSON answer on stdout."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ml.media import MediaError
from ml.media.isolated import run_isolated


@dataclass(frozen=True)
class Inspection:
    c2pa_state: (
        str  # "Trusted" (signed by a certificate chaining to an anchor), "Valid", "Invalid", "NoManifest"
    )
    ai_generated: bool  # the manifest declares trainedAlgorithmicMedia
    generation: dict[str, Any]  # our product assertion (engine, checkpoint, cameos), {} when absent
    fingerprint: str  # ml.provenance.fingerprint serialisation


def inspect_file(path: Path, *, trust_anchors: tuple[Path, ...] = ()) -> Inspection:
    from ml.provenance.c2pa import verify
    from ml.provenance.fingerprint import fingerprint_file

    report = verify(path, trust_anchors=trust_anchors)
    return Inspection(
        c2pa_state=report.state,
        ai_generated=report.ai_generated,
        generation=dict(report.generation),
        fingerprint=fingerprint_file(path).serialise(),
    )


def inspect_isolated(
    path: Path, *, trust_anchors: tuple[Path, ...] = (), timeout_s: float = 120.0
) -> Inspection:
    """``inspect_file`` in a child process, killed after ``timeout_s``; MediaError on any failure."""
    request = {"path": str(Path(path).resolve()), "trust_anchors": [str(p) for p in trust_anchors]}
    answer = run_isolated(
        "ml.provenance.origin", request, timeout_s=timeout_s, doing=f"inspecting {Path(path).name}"
    )
    return Inspection(**answer["inspection"])


def _main() -> None:
    request = json.loads(sys.stdin.read())
    try:
        inspection = inspect_file(
            Path(request["path"]), trust_anchors=tuple(Path(p) for p in request["trust_anchors"])
        )
    except MediaError as exc:
        print(json.dumps({"error": exc.code.value, "message": str(exc)}))
        return
    print(json.dumps({"inspection": asdict(inspection)}))


if __name__ == "__main__":
    _main()
