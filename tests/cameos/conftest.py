import pytest

from tests.fixtures import recordings


@pytest.fixture(scope="session")
def recording():
    """`recording(spec) -> Path`: a real cameo recording (real photo, espeak-ng speech), built once."""
    built = {}

    def get(spec):
        if spec not in built:
            built[spec] = recordings.build(spec)
        return built[spec]

    return get


@pytest.fixture(autouse=True)
def _spool_in_tmp(settings, tmp_path):
    settings.CAMEO_UPLOAD_SPOOL_DIR = tmp_path / "spool"
