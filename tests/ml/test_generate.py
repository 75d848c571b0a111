"""``ml.generate.generate`` end to end on the tiny random ConsisID engine: a signed, playable H.264 + AAC mp4
at the spec's size, fps and duration, its poster, manifest, fingerprint and transcript; progress; cancel
between stages; and the command line. Nothing is downloaded."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile
from PIL import Image

from ml.generate import RenderCanceled, RenderedVideo, conform, generate, main, output_size
from ml.generation.diffusers_engine import DiffusersConsisIDEngine
from ml.generation.engine import GenerationCanceled
from ml.provenance.c2pa import DEV_CA_NAME, SigningConfig, verify
from ml.provenance.fingerprint import Fingerprint, fingerprint_file, match
from ml.scene import Aspect, AudioCue, CueKind, DialogueLine, Resolution, SceneSpec
from tests.fixtures.recordings import photo, speak
from tests.ml.tiny_consisid import make_identity, tiny_pipeline

MAYA = make_identity("maya", 1)
SPEC = SceneSpec(
    text="@maya surfs a wave at sunset",
    dialogue=(DialogueLine("maya", "What a wave, look at this!", 0.3, 1.8),),
    cues=(
        AudioCue(CueKind.MUSIC, "surf rock (140 BPM)", 0.0, None),
        AudioCue(CueKind.SFX, "splash", 1.9, None),
    ),
    duration=2.5,
    fps=12,
    resolution=Resolution.P480,
    aspect=Aspect.SQUARE,  # the tiny checkpoint's learned positions fix its frame at square
    seed=11,
)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("consisid_tiny")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        tiny_pipeline().save_pretrained(folder)
        yield folder


@pytest.fixture(scope="module")
def engine(checkpoint: Path) -> Iterator[DiffusersConsisIDEngine]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield DiffusersConsisIDEngine(checkpoint, steps=4, max_short_side=32, device="cpu")


@pytest.fixture(scope="module")
def dev_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("c2pa_dev")


@pytest.fixture(scope="module")
def rendered(engine, dev_dir, tmp_path_factory) -> tuple[RenderedVideo, list[tuple[float, str]]]:
    calls: list[tuple[float, str]] = []
    video = generate(
        SPEC,
        {"maya": MAYA},
        out_dir=tmp_path_factory.mktemp("render"),
        engine=engine,
        progress=lambda fraction, stage: calls.append((fraction, stage)),
        signing=SigningConfig(dev_dir=dev_dir),
        cameo_ids={"maya": "cameo-7"},
    )
    return video, calls


def test_the_mp4_plays_with_both_streams_as_the_spec_asks(rendered) -> None:
    video, _ = rendered

    with av.open(str(video.mp4_path)) as container:
        stream, audio = container.streams.video[0], container.streams.audio[0]
        assert (stream.codec_context.name, audio.codec_context.name) == ("h264", "aac")
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        assert float(stream.average_rate) == SPEC.fps
        assert audio.rate == 24_000
    assert len(frames) == SPEC.frame_count
    assert frames[0].shape == (480, 480, 3)
    with av.open(str(video.mp4_path)) as container:
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    assert len(samples) / 24_000 == pytest.approx(SPEC.duration, abs=0.1)
    assert np.max(np.abs(samples)) < 1.0
    assert video.duration == SPEC.duration
    assert video.transcript == ("What a wave, look at this!",)
    poster = Image.open(video.poster_path)
    assert poster.format == "JPEG" and poster.size == (480, 480)


def test_the_dialogue_is_heard_at_its_time(rendered) -> None:
    video, _ = rendered
    with av.open(str(video.mp4_path)) as container:
        samples = np.concatenate([f.to_ndarray().reshape(-1) for f in container.decode(audio=0)])
    rate = 24_000

    def rms(start: float, end: float) -> float:
        return float(np.sqrt(np.mean(samples[int(start * rate) : int(end * rate)] ** 2)))

    # music alone before the line; the line on top of the (ducked) music
    assert rms(0.5, 1.5) > 1.5 * rms(0.0, 0.25)


def test_the_manifest_validates_and_names_engine_and_cameo(rendered, dev_dir) -> None:
    video, _ = rendered

    result = verify(video.mp4_path, trust_anchors=[dev_dir / DEV_CA_NAME])

    assert result.state == "Trusted" and result.ai_generated
    assert result.generation["engine"] == video.metadata.engine == "diffusers_consisid"
    assert result.generation["checkpoint_sha256"] == video.metadata.checkpoint_sha256
    assert result.generation["cameos"] == [{"handle": "maya", "cameo_id": "cameo-7"}]
    assert video.manifest["assertions"][1]["data"]["cameos"] == [{"handle": "maya", "cameo_id": "cameo-7"}]
    assert not list(video.mp4_path.parent.glob(".*"))  # no unsigned or partial file left behind


def test_the_fingerprint_is_the_files_and_metadata_is_at_the_output_rate(rendered) -> None:
    video, _ = rendered

    assert match(Fingerprint.parse(video.fingerprint), fingerprint_file(video.mp4_path)).is_match
    assert video.metadata.fps == SPEC.fps and video.metadata.native_resolution == (32, 32)
    assert video.metadata.steps == 4 and video.metadata.seed == SPEC.seed


def test_progress_rises_from_zero_to_one_through_every_stage(rendered) -> None:
    _, calls = rendered

    fractions = [fraction for fraction, _ in calls]
    assert fractions[0] == 0.0 and calls[-1] == (1.0, "done")
    assert all(a <= b for a, b in itertools.pairwise(fractions)), calls
    assert max(f for f, stage in calls if stage in ("denoising", "frames")) <= 0.8
    stages = [stage for _, stage in calls]
    for stage in ("conforming", "sound", "lipsync", "watermark", "encoding", "signing", "fingerprint"):
        assert stage in stages
    assert stages.count("done") == 1


@pytest.mark.parametrize(
    ("after", "next_stage"), [("conforming", "sound"), ("encoding", "signing"), ("signing", "fingerprint")]
)
def test_cancel_between_stages_stops_before_the_next(engine, dev_dir, tmp_path, after, next_stage) -> None:
    seen: list[str] = []
    out_dir = tmp_path / "render"

    with pytest.raises(RenderCanceled) as canceled:
        generate(
            SPEC,
            {"maya": MAYA},
            out_dir=out_dir,
            engine=engine,
            progress=lambda fraction, stage: seen.append(stage),
            should_cancel=lambda: after in seen,
            signing=SigningConfig(dev_dir=dev_dir),
        )

    assert canceled.value.stage == next_stage and isinstance(canceled.value, GenerationCanceled)
    assert next_stage not in seen
    assert list(out_dir.iterdir()) == []  # nothing half-made stays


def test_cancel_before_the_engine_starts_runs_no_step(engine, tmp_path) -> None:
    with pytest.raises(GenerationCanceled) as canceled:
        generate(SPEC, {"maya": MAYA}, out_dir=tmp_path, engine=engine, should_cancel=lambda: True)
    assert canceled.value.steps_done == 0


def test_bad_inputs_are_named(engine, tmp_path) -> None:
    with pytest.raises(ValueError, match="no identity given for mentioned @maya"):
        generate(SPEC, {}, out_dir=tmp_path, engine=engine)
    with pytest.raises(ValueError, match="cameo_ids given for @noor"):
        generate(SPEC, {"maya": MAYA}, out_dir=tmp_path, engine=engine, cameo_ids={"noor": "x"})


@pytest.mark.parametrize(
    ("resolution", "aspect", "size"),
    [
        (Resolution.P720, Aspect.PORTRAIT, (720, 1280)),
        (Resolution.P480, Aspect.LANDSCAPE, (854, 480)),
        (Resolution.P1080, Aspect.SQUARE, (1080, 1080)),
    ],
)
def test_output_size_follows_resolution_and_aspect(resolution, aspect, size) -> None:
    spec = SceneSpec(text="a wave", resolution=resolution, aspect=aspect)
    assert output_size(spec) == size


def test_conform_resamples_time_and_crops_to_the_aspect() -> None:
    spec = SceneSpec(text="a wave", duration=2.0, fps=24, resolution=Resolution.P480, aspect=Aspect.PORTRAIT)
    frames = np.zeros((8, 32, 32, 3), dtype=np.uint8)  # 8 frames over 2 s: 4 fps
    frames[:, :, :, 0] = (np.arange(8) * 30)[:, None, None]  # red encodes the frame index

    out = conform(frames, spec)

    assert out.shape == (48, 854, 480, 3)
    red = out[:, 400, 240, 0].astype(float)
    expected = np.minimum(np.arange(48) / 24 * 4, 7) * 30  # linear in time between source frames
    assert np.allclose(red, expected, atol=1.5)


def test_the_command_line_renders_from_a_photo_and_a_recording(checkpoint, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    face = tmp_path / "maya.jpg"
    Image.fromarray(photo("astronaut")).save(face)
    voice = tmp_path / "maya.wav"
    soundfile.write(voice, speak("Hello, this is my voice, recorded for my cameo today.", "en+f2"), 16_000)
    output = tmp_path / "out.mp4"

    code = main(
        [
            "--prompt",
            '@maya waves\nduration: 1s\nresolution: 480p\naspect: 1:1\n@maya: "hi there"',
            "--face",
            str(face),
            "--voice",
            str(voice),
            "-o",
            str(output),
            "--seed",
            "3",
            "--consisid",
            str(checkpoint),
            "--steps",
            "2",
            "--c2pa-dir",
            str(tmp_path / "dev"),
        ]
    )

    assert code == 0
    with av.open(str(output)) as container:
        assert container.streams.video[0].width == 480 and len(container.streams.audio) == 1
    assert output.with_suffix(".jpg").is_file()
    result = verify(output, trust_anchors=[tmp_path / "dev" / DEV_CA_NAME])
    assert result.state == "Trusted" and result.generation["cameos"] == [{"handle": "maya", "cameo_id": None}]
    assert result.generation["voices"]["maya"].startswith("espeak_ng_matched:en+")  # a matched variant
