"""Run one step on untrusted media in a child process, so that a decoder crash or hang cannot take the
caller down: the child is ``python -m <module>`` reading one JSON request on stdin and writing one JSON
answer on stdout (``{"error": code, "message": ...}`` for a MediaError). ``ml.media.probe`` and
``ml.provenance.origin`` are such modules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ml.media.errors import MediaError, MediaErrorCode

_REPO_ROOT = Path(__file__).resolve().parents[2]


def run_isolated(module: str, request: dict[str, Any], *, timeout_s: float, doing: str) -> dict[str, Any]:
    """The child's answer to ``request``; MediaError when it reports one, crashes (DECODER_CRASHED) or runs
    past ``timeout_s`` (TIMEOUT, and the child is killed). ``doing`` names the work in those messages, e.g.
    "probing clip.mp4"."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", module],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            cwd=str(_REPO_ROOT),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise MediaError(MediaErrorCode.TIMEOUT, f"{doing} took over {timeout_s} s") from exc
    if done.returncode != 0:
        raise MediaError(
            MediaErrorCode.DECODER_CRASHED,
            f"{module} exited with {done.returncode} while {doing}: {done.stderr.strip()[-300:]}",
        )
    answer: dict[str, Any] = json.loads(done.stdout)
    if "error" in answer:
        raise MediaError(MediaErrorCode(answer["error"]), answer["message"])
    return answer
