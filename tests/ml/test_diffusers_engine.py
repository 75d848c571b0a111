"""DiffusersConsisIDEngine on a tiny random ConsisID pipeline: saved to a folder, loaded back by the engine.

Every component is built from a config (1-layer transformer, 4-channel VAE, 1-layer T5, a SentencePiece
tokenizer trained in memory) with fixed seeds, so nothing is downloaded and a 4-step, 32x32 run takes a
fraction of a second on a CPU. The pipeline is built and loaded once for the module.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.generation.diffusers_engine import DiffusersConsisIDEngine, folder_sha256
from ml.generation.engine import GeneratedVideo, GenerationCanceled, Identity
from ml.registry import ModelError
from ml.scene import Aspect, Resolution, SceneSpec
from tests.ml.tiny_consisid import make_identity, tiny_pipeline

REPO_ROOT = Path(__file__).resolve().parents[2]
STEPS = 4


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, object]]:
    """(folder, in-memory pipeline it was saved from)."""
    folder = tmp_path_factory.mktemp("consisid_tiny")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        pipeline = tiny_pipeline()
        pipeline.save_pretrained(folder)
        yield folder, pipeline


@pytest.fixture(scope="module")
def engine(saved: tuple[Path, object]) -> Iterator[DiffusersConsisIDEngine]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield DiffusersConsisIDEngine(saved[0], steps=STEPS, max_short_side=32, device="cpu")


MAYA = make_identity("maya", 1)
SOMEONE_ELSE = make_identity("maya", 2)  # another person under the same handle: only the identity differs
OTHER_EMBEDDING_MAYA_FACE = make_identity("maya", 2, faces_from=1)


def scene(seed: int = 7, text: str = "@maya surfs a wave at sunset") -> SceneSpec:
    return SceneSpec(
        text=text, duration=1.0, fps=8, resolution=Resolution.P480, aspect=Aspect.SQUARE, seed=seed
    )


def frames_of(video: GeneratedVideo) -> np.ndarray:
    assert video.frames is not None
    return video.frames


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def test_engine_loads_the_saved_folder_unchanged_and_generates(saved, engine) -> None:
    folder, original = saved

    video = engine.generate(scene(), {"maya": MAYA})

    for name in ("transformer", "vae", "text_encoder"):
        before, after = getattr(original, name).state_dict(), getattr(engine.pipeline, name).state_dict()
        assert before.keys() == after.keys()
        assert all(torch.equal(before[key], after[key]) for key in before), name
    assert (
        engine.pipeline.tokenizer("the person surfs").input_ids
        == original.tokenizer("the person surfs").input_ids
    )
    frames = frames_of(video)
    assert frames.shape == (8, 32, 32, 3) and frames.dtype == np.uint8
    assert video.poster.shape == (32, 32, 3)
    assert video.metadata.engine == "diffusers_consisid"
    assert video.metadata.checkpoint_sha256 == folder_sha256(folder)
    assert video.metadata.native_resolution == (32, 32)
    assert (video.metadata.steps, video.metadata.seed, video.metadata.fps) == (STEPS, 7, 8.0)
    assert video.metadata.conditioned_on == ("maya",)


def test_identity_conditioning_changes_the_frames(engine) -> None:
    maya = frames_of(engine.generate(scene(), {"maya": MAYA}))
    someone_else = frames_of(engine.generate(scene(), {"maya": SOMEONE_ELSE}))
    embedding_only = frames_of(engine.generate(scene(), {"maya": OTHER_EMBEDDING_MAYA_FACE}))

    assert mean_abs_diff(maya, someone_else) > 1.0
    # same reference crop, other embedding: id_cond and the CLS token reach the transformer
    assert mean_abs_diff(maya, embedding_only) > 0.1


def test_same_seed_same_frames_other_seed_other_frames(engine) -> None:
    first = frames_of(engine.generate(scene(seed=7), {"maya": MAYA}))
    again = frames_of(engine.generate(scene(seed=7), {"maya": MAYA}))
    other = frames_of(engine.generate(scene(seed=8), {"maya": MAYA}))

    assert np.array_equal(first, again)
    assert mean_abs_diff(first, other) > 1.0


def test_progress_rises_through_the_steps_to_one(engine) -> None:
    calls: list[tuple[float, str]] = []

    engine.generate(scene(), {"maya": MAYA}, progress=lambda fraction, stage: calls.append((fraction, stage)))

    fractions = [fraction for fraction, _ in calls]
    assert fractions[0] == 0.0 and calls[-1] == (1.0, "done")
    assert all(a < b for a, b in itertools.pairwise(fractions)), calls
    assert [stage for _, stage in calls].count("denoising") == STEPS


@pytest.mark.parametrize("cancel_after", [0, 2])
def test_cancel_stops_between_steps(engine, cancel_after: int) -> None:
    polls = 0

    def should_cancel() -> bool:
        nonlocal polls
        polls += 1  # poll 1 is before the run, poll k + 1 right after step k
        return polls > cancel_after

    forwards = 0

    def count(*_: object) -> None:
        nonlocal forwards
        forwards += 1

    hook = engine.pipeline.transformer.register_forward_hook(count)
    try:
        with pytest.raises(GenerationCanceled) as canceled:
            engine.generate(scene(), {"maya": MAYA}, should_cancel=should_cancel)
    finally:
        hook.remove()

    assert canceled.value.steps_done == cancel_after
    assert forwards == cancel_after < STEPS  # one batched (CFG) forward a step


def test_spec_maps_onto_the_pipeline_call(engine) -> None:
    portrait = SceneSpec(
        text="@maya waves at @noor", duration=2.0, fps=24, aspect=Aspect.PORTRAIT, style="claymation"
    )

    assert engine.frame_size(portrait) == (32, 64)  # short side capped at 32, 9:16 rounded to 16s
    assert engine.frame_size(scene()) == (32, 32)
    assert engine.num_frames(portrait) == 9  # 48 wanted, capped at the checkpoint's 9 = 1 + 2 * 4
    assert engine.num_frames(scene()) == 5  # 8 wanted: 1 + 1 * 4
    assert engine.prompt(portrait) == "the person waves at another person. Style: claymation."


def test_check_inputs_names_what_is_missing(engine) -> None:
    with pytest.raises(ValueError, match="@noor"):
        engine.generate(scene(text="@maya and @noor surf"), {"maya": MAYA})
    with pytest.raises(ValueError, match="mentions nobody"):
        engine.generate(scene(text="a wave at sunset"), {})
    with pytest.raises(ValueError, match="labelled @maya"):
        engine.generate(scene(text="@noor surfs"), {"noor": MAYA})


def test_identity_refuses_a_wrong_embedding() -> None:
    with pytest.raises(ValueError, match=r"@maya: face_embedding must be a \(128,\) array, got \(512,\)"):
        Identity(
            handle="maya", face_embedding=np.zeros(512, np.float32), reference_faces=MAYA.reference_faces
        )
    with pytest.raises(ValueError, match="non-empty tuple"):
        Identity(handle="maya", face_embedding=MAYA.face_embedding, reference_faces=())


def test_missing_folder_and_hub_id_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # "org/name" is looked up (and absent) here
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    missing = tmp_path / "no_such_checkpoint"

    with pytest.raises(ModelError, match=re.escape(f"{missing} does not exist")):
        DiffusersConsisIDEngine(missing)
    with pytest.raises(ModelError, match="'BestWishYsh/ConsisID-preview' looks like a Hugging Face hub id"):
        DiffusersConsisIDEngine("BestWishYsh/ConsisID-preview")
    with pytest.raises(ModelError, match=r"no model_index\.json"):
        DiffusersConsisIDEngine(tmp_path)


def test_altered_checkpoint_is_refused(saved) -> None:
    with pytest.raises(ModelError, match="expected 0000"):
        DiffusersConsisIDEngine(saved[0], expected_sha256="0" * 64, device="cpu")


def test_generated_video_writes_an_mp4(engine, tmp_path: Path) -> None:
    import av

    video = engine.generate(scene(), {"maya": MAYA}).write_mp4(tmp_path / "out.mp4")

    assert video.mp4_path == tmp_path / "out.mp4"
    with av.open(str(video.mp4_path)) as container:
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(decoded) == 8 and decoded[0].shape == (32, 32, 3)


def test_engine_types_import_without_torch_or_web_frameworks() -> None:
    code = (
        "import sys, ml.generation, ml.generation.engine; "
        "heavy = {'torch', 'diffusers', 'transformers', 'django', 'celery', 'rest_framework'}; "
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, env=env, check=True
    )
    assert done.stdout.strip() == "", done.stdout
