"""ml.generation.reference: the project's own video model, its sampler, engine contract and shipped weights."""

from __future__ import annotations

import dataclasses
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ml import registry
from ml.generation.engine import GenerationCanceled, Identity
from ml.generation.reference import ReferenceEngine, corpus, faces
from ml.generation.reference.engine import MODEL_NAME, load_checkpoint
from ml.generation.reference.model import ReferenceDiT, ReferenceDiTConfig
from ml.generation.reference.sampler import FlowEulerConfig, sample, timesteps
from ml.scene import CameoAppearance, SceneSpec

TINY = ReferenceDiTConfig(
    frames=4, size=16, patch=4, tubelet=2, face_size=8, hidden=32, depth=1, heads=2, text_tokens=2, copy_dim=8
)


def fake_text(texts: list[str]) -> torch.Tensor:
    """A deterministic stand-in for MiniLM: a unit vector seeded by the text's CRC."""
    rows = [torch.randn(384, generator=torch.Generator().manual_seed(zlib.crc32(t.encode()))) for t in texts]
    return torch.nn.functional.normalize(torch.stack(rows), dim=-1)


def tiny_model() -> ReferenceDiT:
    torch.manual_seed(0)
    model = ReferenceDiT(TINY)
    with torch.no_grad():  # adaLN-zero starts as identity blocks; perturb so every input matters
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.2)
    return model


def identity(handle: str, seed: int) -> Identity:
    rng = np.random.default_rng(seed)
    return Identity(
        handle=handle,
        face_embedding=rng.normal(0, 0.1, 128).astype(np.float32),
        reference_faces=(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8),),
    )


MAYA, LEO = identity("maya", 1), identity("leo", 2)
SPEC = SceneSpec(text="@maya walks left on a beach under a red sky, the camera pans", duration=2.0, seed=7)


@pytest.fixture(scope="module")
def engine() -> ReferenceEngine:
    return ReferenceEngine(
        tiny_model(), fake_text, checkpoint_sha256="0" * 64, sampler=FlowEulerConfig(steps=4)
    )


def model_inputs(batch: int = 2) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    return {
        "noisy": torch.randn(batch, TINY.frames, 3, TINY.size, TINY.size, generator=generator),
        "t": torch.rand(batch, generator=generator),
        "text": torch.randn(batch, 384, generator=generator),
        "faces": torch.rand(batch, 2, 3, TINY.face_size, TINY.face_size, generator=generator) * 2 - 1,
        "face_embeddings": torch.randn(batch, 2, 128, generator=generator),
        "present": torch.tensor([[True, False]] * batch),
    }


def test_model_shapes_and_that_an_absent_slot_is_ignored_but_a_present_one_is_not() -> None:
    model = tiny_model()
    inputs = model_inputs()
    with torch.no_grad():
        out = model(**inputs)
        assert out.shape == inputs["noisy"].shape
        absent_changed = dict(inputs, faces=inputs["faces"].clone())
        absent_changed["faces"][:, 1] = -absent_changed["faces"][:, 1]
        absent_changed["face_embeddings"] = inputs["face_embeddings"].clone()
        absent_changed["face_embeddings"][:, 1] += 1
        assert torch.allclose(model(**absent_changed), out, atol=1e-6)
        present_changed = dict(inputs, faces=inputs["faces"].clone())
        present_changed["faces"][:, 0] = -present_changed["faces"][:, 0]
        assert not torch.allclose(model(**present_changed), out, atol=1e-4)


def test_patchify_round_trips() -> None:
    model = tiny_model()
    video = torch.randn(2, TINY.frames, 3, TINY.size, TINY.size)
    assert torch.equal(model.video_unpatchify(model.video_patchify(video)), video)


def test_config_rejects_sizes_that_do_not_tile() -> None:
    with pytest.raises(ValueError, match="face_size 10"):
        ReferenceDiTConfig(face_size=10)
    with pytest.raises(ValueError, match="frames 6 must be a multiple of tubelet 4"):
        ReferenceDiTConfig(frames=6, tubelet=4)


def test_sampler_times_and_an_exact_predictor_lands_on_its_prediction() -> None:
    config = FlowEulerConfig(steps=5, shift=2.0)
    times = timesteps(config)
    assert times[0] == 1.0 and times[-1] == 0.0 and bool((times[1:] < times[:-1]).all())
    target = torch.randn(1, 3, 4, 4)
    done: list[int] = []
    result = sample(lambda x, t: target, torch.randn(1, 3, 4, 4), config, done.append)
    assert torch.allclose(result, target) and done == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="steps must be at least 1, got 0"):
        FlowEulerConfig(steps=0)


def test_identity_conditioning_changes_the_frames(engine: ReferenceEngine) -> None:
    with_maya = engine.generate(SPEC, {"maya": MAYA}).frames
    as_leo = Identity(handle="maya", face_embedding=LEO.face_embedding, reference_faces=LEO.reference_faces)
    with_leo = engine.generate(SPEC, {"maya": as_leo}).frames
    assert with_maya is not None and with_leo is not None
    assert np.abs(with_maya.astype(int) - with_leo.astype(int)).mean() > 1.0


def test_same_inputs_and_seed_give_identical_frames_another_seed_does_not(engine: ReferenceEngine) -> None:
    first = engine.generate(SPEC, {"maya": MAYA})
    second = engine.generate(SPEC, {"maya": MAYA})
    assert first.frames is not None and second.frames is not None
    assert np.array_equal(first.frames, second.frames)
    other = engine.generate(SceneSpec(text=SPEC.text, duration=2.0, seed=8), {"maya": MAYA})
    assert other.frames is not None and not np.array_equal(first.frames, other.frames)
    assert first.frames.shape == (TINY.frames, TINY.size, TINY.size, 3)
    assert first.metadata.fps == TINY.frames / 2.0 and first.metadata.native_resolution == (16, 16)
    assert (
        first.metadata.steps == 4 and first.metadata.seed == 7 and first.metadata.conditioned_on == ("maya",)
    )


def test_two_people_and_nobody_are_rendered(engine: ReferenceEngine) -> None:
    spec = SceneSpec(text="@maya and @leo bounce on the moon under a blue sky, the camera is still", seed=3)
    video = engine.generate(spec, {"maya": MAYA, "leo": LEO})
    assert video.metadata.conditioned_on == ("maya", "leo")
    empty = engine.generate(SceneSpec(text="A desert under an orange sky, the camera zooms in"), {})
    assert empty.metadata.conditioned_on == ()


def test_progress_is_monotone_and_ends_done(engine: ReferenceEngine) -> None:
    calls: list[tuple[float, str]] = []
    engine.generate(SPEC, {"maya": MAYA}, progress=lambda f, s: calls.append((f, s)))
    fractions = [fraction for fraction, _ in calls]
    assert fractions == sorted(fractions) and all(0.0 <= f <= 1.0 for f in fractions)
    assert calls[-1] == (1.0, "done") and sum(stage == "denoising" for _, stage in calls) >= 4


@pytest.mark.parametrize("cancel_after", [0, 1, 3])
def test_cancel_is_polled_before_start_and_after_every_step(
    engine: ReferenceEngine, cancel_after: int
) -> None:
    polls: list[int] = []

    def should_cancel() -> bool:
        polls.append(1)
        return len(polls) > cancel_after

    with pytest.raises(GenerationCanceled) as raised:
        engine.generate(SPEC, {"maya": MAYA}, should_cancel=should_cancel)
    assert raised.value.steps_done == cancel_after and raised.value.steps_total == 4


def test_check_inputs_name_the_bad_value(engine: ReferenceEngine) -> None:
    three = SceneSpec(text="@maya, @leo and @sam walk left on a beach")
    with pytest.raises(ValueError, match=r"at most 2 people; the scene mentions 3 \(@maya, @leo, @sam\)"):
        engine.generate(three, {"maya": MAYA, "leo": LEO, "sam": identity("sam", 3)})
    with pytest.raises(ValueError, match="no identity given for mentioned @maya"):
        engine.generate(SPEC, {})
    with pytest.raises(ValueError, match="spec must be a SceneSpec, not dict"):
        engine.generate(SPEC.to_dict(), {"maya": MAYA})  # type: ignore[arg-type]


def test_prompt_names_people_the_way_the_corpus_does() -> None:
    spec = SceneSpec(text="@Maya and @leo walk right on the moon under a red sky, the camera pans")
    assert ReferenceEngine.prompt(spec) == (
        "a person and another person walk right on the moon under a red sky, the camera pans"
    )


def test_shipped_checkpoint_generates_a_short_spec() -> None:
    engine = ReferenceEngine.from_registry()
    assert ReferenceEngine.from_registry() is engine  # loaded once
    folder = registry.model_dir(MODEL_NAME)
    assert engine.checkpoint_sha256 == registry.MODELS[MODEL_NAME].files[0].sha256
    assert engine.checkpoint_sha256 == registry.sha256_of(folder / "model.safetensors")
    spec = SceneSpec(
        text="@maya falls on a snowy field under a blue sky, the camera is still", duration=1.0, seed=1
    )
    video = engine.generate(spec, {"maya": MAYA})
    c = engine.config
    assert video.frames is not None and video.frames.shape == (c.frames, c.size, c.size, 3)
    assert video.metadata.engine == "reference_dit" and video.metadata.fps == c.frames / 1.0
    # the sky of a snowy field under a blue sky is blue: the text reached the model
    sky = video.frames[:, :6].reshape(-1, 3).mean(axis=0)
    assert sky[2] > sky[0] + 30, sky


def test_shipped_checkpoint_draws_the_held_out_face_it_is_given() -> None:
    # given: two real people the model never trained on (held out, not even as blend parents), as cameos
    chips = faces.real_chips()
    assert {"tom_hanks", "t1_4"} <= set(faces.HELD_OUT)
    embeddings = faces.embed_chips([chips["tom_hanks"], chips["t1_4"]])  # (2, 128)
    engine = ReferenceEngine.from_registry()
    spec = SceneSpec(
        text="@tom walks right on a beach under a yellow sky, the camera is still", duration=1.0, seed=3
    )
    tom = Identity(handle="tom", face_embedding=embeddings[0], reference_faces=(chips["tom_hanks"],))

    # when: a video of the first, and the face square where a walking head is drawn, frame by frame
    frames = engine.generate(spec, {"tom": tom}).frames
    assert frames is not None
    positions = corpus.head_positions("walk_right", 1)  # (F, 1, 2) top-left corners
    squares = [
        np.asarray(
            Image.fromarray(frame[y : y + corpus.FACE, x : x + corpus.FACE]).resize(
                (faces.CHIP, faces.CHIP), Image.Resampling.BICUBIC
            )
        )
        for frame, ((x, y),) in zip(frames, positions, strict=True)
    ]
    drawn = faces.embed_chips(squares).mean(axis=0)

    # then: dlib says the drawn face is that person (same-person threshold 0.6), and not the other one
    to_tom, to_other = np.linalg.norm(embeddings - drawn, axis=1)
    assert to_tom < 0.6 and to_tom < to_other, (to_tom, to_other)


def test_an_altered_checkpoint_is_refused_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = registry.model_dir(MODEL_NAME)
    copy = tmp_path / MODEL_NAME
    shutil.copytree(folder, copy)
    monkeypatch.setenv(registry.MODEL_DIR_ENV, str(tmp_path))
    assert registry.model_dir(MODEL_NAME) == copy
    assert load_checkpoint(copy).config == load_checkpoint(folder).config
    with (copy / "model.safetensors").open("r+b") as handle:
        handle.seek(4096)
        handle.write(b"\xff\xff\xff\xff")
    with pytest.raises(registry.ModelError, match=rf"{copy}/model\.safetensors has sha256 .*expected"):
        registry.model_dir(MODEL_NAME)
    registry.clear_loaded()
    with pytest.raises(registry.ModelError, match=r"model\.safetensors has sha256"):
        ReferenceEngine.from_registry()
    registry.clear_loaded()


def test_an_owners_wardrobe_colour_tints_that_persons_reference_only(engine: ReferenceEngine) -> None:
    spec = SceneSpec(text="@maya and @leo bounce on the moon under a blue sky, the camera is still", seed=3)
    looked = dataclasses.replace(spec, appearance=(CameoAppearance("maya", ("red",)),))
    people = {"maya": MAYA, "leo": LEO}

    plain, tinted = engine.conditioning(spec, people), engine.conditioning(looked, people)

    assert ReferenceEngine.prompt(looked) == ReferenceEngine.prompt(spec)  # never text
    assert torch.equal(tinted["text"], plain["text"])
    assert torch.equal(tinted["faces"][0, 1], plain["faces"][0, 1])  # leo's slot untouched
    maya_plain, maya_tinted = plain["faces"][0, 0], tinted["faces"][0, 0]  # (3, f, f)
    rows = TINY.face_size // 4
    assert torch.equal(maya_tinted[:, :-rows], maya_plain[:, :-rows])  # the face itself untouched
    red_shift = (maya_tinted[0, -rows:] - maya_plain[0, -rows:]).mean()
    blue_shift = (maya_tinted[2, -rows:] - maya_plain[2, -rows:]).mean()
    assert red_shift > blue_shift
    assert not np.array_equal(engine.generate(looked, people).frames, engine.generate(spec, people).frames)
