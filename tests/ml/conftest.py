"""Session-wide models and recordings for the ml tests: each model loads once, each fixture builds once.

These tests use real pretrained weights from installed packages and real photos and speech; nothing is
downloaded. They need no database and never import Django.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# ``tests.fixtures`` is imported as a package from the repository root, whatever pytest's rootdir insertion
REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from ml.identity.liveness import IdentityModels  # noqa: E402
from tests.fixtures import recordings  # noqa: E402
from tests.fixtures.hostile import build_hostile  # noqa: E402


@pytest.fixture(scope="session")
def models() -> IdentityModels:
    return IdentityModels.default()


@pytest.fixture(scope="session")
def recording():
    """``recording(spec) -> Path``: the spec's mp4, built at most once (cached across sessions too)."""
    built: dict[recordings.RecordingSpec, Path] = {}

    def get(spec: recordings.RecordingSpec) -> Path:
        if spec not in built:
            built[spec] = recordings.build(spec)
        return built[spec]

    return get


@pytest.fixture(scope="session")
def hostile_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_hostile(tmp_path_factory.mktemp("hostile"))
