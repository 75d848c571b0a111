#!/bin/sh
# Installs into /opt/venv in the order scripts/setup uses, so an image holds what a developer's .venv holds
# (less the dev extra). Keep the --no-deps list in step with scripts/setup.
#
#   pip-install torch   INDEX_URL          torch==2.13.0 from INDEX_URL (the CPU index, or PyPI for CUDA)
#   pip-install project SOURCE cpu|cuda    SOURCE[ml], the packages pyproject cannot express, then checks
#                                          that everything imports and that torch is the expected build
set -eu

TORCH_VERSION=2.13.0
# pyproject cannot say --no-deps for one package; see the comment on its `ml` extra.
NO_DEPS_PACKAGES="resemblyzer==0.1.4 insightface==2.1"

pip() { /opt/venv/bin/python -m pip "$@"; }

case "$1" in
torch)
    pip install --index-url "$2" "torch==${TORCH_VERSION}"
    ;;
project)
    # torch is already there and satisfies the extra's pin (2.13.0+cpu matches ==2.13.0), so it stays.
    pip install "$2[ml]"
    pip install --no-deps ${NO_DEPS_PACKAGES}
    /opt/venv/bin/python - "$3" <<'PY'
import sys

import av, celery, channels, dlib, django, faster_whisper, resemblyzer, torch  # noqa: F401

expected = sys.argv[1]
actual = "cuda" if torch.version.cuda else "cpu"
if actual != expected:
    sys.exit(f"torch {torch.__version__} is the {actual} build; this image needs the {expected} build")
print(f"torch {torch.__version__} ({actual}), Django {django.__version__}, Celery {celery.__version__}")
PY
    ;;
*)
    echo "usage: pip-install torch INDEX_URL | pip-install project SOURCE cpu|cuda" >&2
    exit 2
    ;;
esac
