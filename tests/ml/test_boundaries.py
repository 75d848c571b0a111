"""ml/ stays a plain PyTorch package: importing all of it pulls in no web framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "ml.registry",
    "ml.media",
    "ml.identity.face",
    "ml.identity.voice",
    "ml.identity.motion",
    "ml.identity.liveness",
    "ml.speech.asr",
    "ml.scene",
    "ml.generation",
    "ml.generation.diffusers_engine",
]


def test_ml_imports_no_django_celery_or_drf() -> None:
    code = (
        f"import sys; [__import__(m) for m in {MODULES!r}]; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'celery', 'rest_framework'}); "
        "print(','.join(bad))"
    )
    env_free = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, env=env_free, check=True
    )
    assert done.stdout.strip() == "", done.stdout
