"""ml.generation.reference.train: a short real run on the real corpus and face bank (a narrow model, a few
steps; the sentence encoder is the engine tests' seeded stand-in, as MiniLM over the 2,916 vocabulary
prompts takes minutes on a busy CPU)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.generation.reference import faces
from ml.generation.reference.engine import load_checkpoint
from ml.generation.reference.model import ReferenceDiTConfig
from ml.generation.reference.train import TrainConfig, train
from tests.ml.test_reference_engine import fake_text

NARROW = ReferenceDiTConfig(hidden=32, depth=1, heads=2, text_tokens=2, copy_dim=8)
SHORT = TrainConfig(steps=3, batch_size=2, warmup=1, morphs=4, save_every=2, log_every=1, max_minutes=10.0)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    train(out, SHORT, NARROW, fake_text)
    return out


def test_a_run_leaves_a_checkpoint_the_engine_loads_its_configs_and_its_log(first_run: Path) -> None:
    model = load_checkpoint(first_run)
    assert model.config == NARROW
    saved = json.loads((first_run / "train_config.json").read_text())
    assert saved["train"]["steps"] == 3 and saved["model"]["hidden"] == 32
    log = (first_run / "train.log").read_text()
    assert "step 3 loss" in log and "done: 3 steps" in log
    bank = {str(name) for name in np.load(first_run / "faces.npz")["names"]}
    assert not bank & set(faces.HELD_OUT)  # held-out identities never reach training


def reusing_face_bank(first_run: Path, out: Path) -> Path:
    """``out`` with the first run's face bank in it (a run reuses the bank it finds: 10+ s saved)."""
    out.mkdir()
    shutil.copy(first_run / "faces.npz", out / "faces.npz")
    return out


def test_init_continues_from_a_checkpoint_and_refuses_another_config(first_run: Path, tmp_path: Path) -> None:
    # given: a run of one step at a learning rate of zero, started from the first run's weights
    resumed = replace(SHORT, steps=1, lr=0.0, min_lr=0.0, init=str(first_run))
    train(reusing_face_bank(first_run, tmp_path / "resumed"), resumed, NARROW, fake_text)

    # then: its weights are the first run's, untouched
    before, after = (
        load_checkpoint(first_run).state_dict(),
        load_checkpoint(tmp_path / "resumed").state_dict(),
    )
    assert all(torch.equal(before[name], after[name]) for name in before)
    assert f"weights from {first_run}" in (tmp_path / "resumed" / "train.log").read_text()

    # and: a checkpoint of another shape is refused by name
    with pytest.raises(ValueError, match="holds a model with config"):
        train(
            tmp_path / "wider",
            replace(SHORT, steps=1, init=str(first_run)),
            replace(NARROW, hidden=64),
            fake_text,
        )
