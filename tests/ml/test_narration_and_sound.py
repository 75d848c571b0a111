"""Sound in every video: narration under a dialogue / subtitles / VO heading, sound asked for in the
prompt's own words, the place's ambience when nothing is asked; and, end to end on the reference engine,
a video with no cue at all that is not silent and whose narrator is heard."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from ml.audio import cues as cue_sounds
from ml.audio.intents import intended_cues
from ml.prompt import parse_prompt
from ml.scene import AudioCue, CueKind, NarrationLine, Resolution, SceneSpec


@pytest.mark.parametrize(
    "heading", ["## Voiceover", "Subtitles:", "**VO**", "## Narration", "Dialogue:", "## Script"]
)
def test_unattributed_time_coded_lines_under_a_dialogue_heading_are_a_narrator(heading) -> None:
    spec = parse_prompt(
        f'@maya walks on a beach\n{heading}\n[0-2s] Every summer we came back.\n[2.5-4s] "The sea was waiting."\n'
        '@maya: "I missed you."\nduration: 6s'
    )

    assert spec.narration == (
        NarrationLine("Every summer we came back.", 0.0, 2.0),
        NarrationLine("The sea was waiting.", 2.5, 4.0),
    )
    assert [line.speaker for line in spec.dialogue] == ["maya"] and spec.mentions == ("maya",)


def test_a_line_labelled_narrator_is_narration_not_an_unknown_speaker() -> None:
    spec = parse_prompt('@maya waves\n## Dialogue\nNarrator: "Once upon a time."\nduration: 4s')
    assert [line.text for line in spec.narration] == ["Once upon a time."]
    assert spec.dialogue == ()


def test_narration_round_trips_and_old_specs_read_back_unchanged() -> None:
    spec = SceneSpec(text="a beach", narration=(NarrationLine("Hello.", 0.5, 1.5),), duration=2.0)
    assert SceneSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert "narration" not in SceneSpec(text="a beach").to_dict()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a string quartet plays in a park", {(CueKind.MUSIC, "string quartet")}),
        ("rain drums on a tin roof", {(CueKind.AMBIENCE, "rain on a roof")}),
        (
            "@maya scores and the crowd cheers",
            {(CueKind.SFX, "crowd cheers"), (CueKind.AMBIENCE, "sea waves on the shore")},
        ),
        ("@maya waves at the sea at sunset", {(CueKind.AMBIENCE, "sea waves on the shore")}),
    ],
)
def test_sound_asked_for_in_words_becomes_cues_and_the_place_fills_the_silence(text, expected) -> None:
    cues = intended_cues(SceneSpec(text=text, duration=4.0), "beach")
    assert {(cue.kind, cue.description) for cue in cues} == expected


def test_the_writers_own_cues_are_left_alone() -> None:
    spec = SceneSpec(
        text="a string quartet plays", cues=(AudioCue(CueKind.MUSIC, "lofi beat", 0.0, None),), duration=4.0
    )
    assert intended_cues(spec, "city") == ()


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: cue_sounds.music("string quartet", None, 24_000, 24_000, rng),
        lambda rng: cue_sounds.effect("crowd cheers", 24_000, rng),
        lambda rng: cue_sounds.ambience("birds in the forest", 24_000, 24_000, rng),
        lambda rng: cue_sounds.ambience("quiet space hum", 24_000, 24_000, rng),
    ],
)
def test_the_new_sounds_are_not_silent(make) -> None:
    audio = make(np.random.default_rng(0))
    assert np.isfinite(audio).all() and float(np.sqrt(np.mean(audio**2))) > 1e-3


def test_a_video_with_no_cue_has_sound_its_narrator_is_heard_and_the_manifest_says_what_was_composited(
    tmp_path, recording
) -> None:
    from ml.generate import generate, identity_from_files
    from ml.media import extract_audio
    from ml.provenance.c2pa import SigningConfig
    from ml.speech.asr import AsrConfig, SpeechRecognizer
    from tests.fixtures import recordings

    maya = identity_from_files("maya", recording(recordings.GOOD), None)
    spec = replace(
        parse_prompt(
            "@maya in a snowy field at night\n## Voiceover\n[0.2-2.8s] Winter came early that year.\nduration: 3s"
        ),
        resolution=Resolution.P480,
    )
    assert spec.cues == () and spec.dialogue == ()
    rendered = generate(
        spec, {"maya": maya}, out_dir=tmp_path, signing=SigningConfig(dev_dir=tmp_path / "c2pa")
    )

    audio = extract_audio(rendered.mp4_path)
    quiet = audio[int(2.9 * 16_000) :]  # after the narrator: the place's ambience alone
    assert float(np.abs(quiet).max()) > 1e-3
    heard = SpeechRecognizer(AsrConfig(initial_prompt=None)).transcribe(audio).text.lower()
    assert "winter" in heard and "early" in heard
    assert rendered.transcript == ("Winter came early that year.",)
    manifest = json.dumps(rendered.manifest)
    assert "ambience: wind over snow" in manifest
    assert "c2pa.edited" in manifest and "cut out of the cameo's recording" in manifest
    assert "rendered_as" in manifest and "a snowy field under a purple sky" in manifest
