"""ml.registry: every model found offline, verified by sha256, loaded once, clear errors otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ml import registry


@pytest.mark.parametrize("name", sorted(registry.MODELS))
def test_every_registered_model_resolves_and_verifies_offline(name: str) -> None:
    folder = registry.model_dir(name)
    for model_file in registry.MODELS[name].files:
        assert registry.sha256_of(folder / model_file.relpath) == model_file.sha256


def test_operator_folder_wins_and_an_altered_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = registry.MODELS["resemblyzer_voice_encoder"]
    copy_dir = tmp_path / spec.name
    copy_dir.mkdir()
    shutil.copy(registry.model_path(spec.name), copy_dir / spec.files[0].relpath)
    monkeypatch.setenv(registry.MODEL_DIR_ENV, str(tmp_path))

    assert registry.model_dir(spec.name) == copy_dir

    with (copy_dir / spec.files[0].relpath).open("r+b") as handle:
        handle.write(b"\0\0\0\0")
    with pytest.raises(registry.ModelError, match=r"pretrained\.pt has sha256 .* pip install resemblyzer"):
        registry.model_dir(spec.name)


def test_missing_model_names_the_searched_path_and_how_to_obtain_it(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = registry.ModelSpec(
        name="absent_model",
        files=(registry.ModelFile("weights.bin", "0" * 64),),
        package=None,
        package_subdir="",
        obtain="ask the operator for absent_model.tar",
        license="n/a",
    )
    monkeypatch.setitem(registry.MODELS, spec.name, spec)
    monkeypatch.setenv(registry.MODEL_DIR_ENV, "/nonexistent/models")
    with pytest.raises(
        registry.ModelError, match=r"/nonexistent/models/absent_model/weights\.bin.*absent_model\.tar"
    ):
        registry.model_path("absent_model")
    with pytest.raises(registry.ModelError, match="unknown model"):
        registry.model_path("nope")


def test_models_are_loaded_once_per_process() -> None:
    calls = []
    first = registry.load_once("test-object", lambda: calls.append(1) or object())
    second = registry.load_once("test-object", lambda: calls.append(1) or object())
    assert first is second and calls == [1]
