"""The prompt language: real prompts parse to the scene meant, every refusal names its code and line, any
spec survives render -> parse unchanged, and no text makes the parser raise anything else or run away."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ml.prompt import (
    ERROR_CODES,
    MAX_PROMPT_CHARS,
    PromptDefaults,
    PromptError,
    parse_prompt,
    render_prompt,
)
from ml.scene import Aspect, AudioCue, CueKind, DialogueLine, Resolution, SceneSpec, Shot
from tests.ml.strategies import prompt_soup, scene_specs

PROPERTY = settings(
    max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

ISSUE_EXAMPLE = """Multi-shot composition:
1. Close-up of @maya's feet as she steps near the water, ripples spreading with light.
2. Side-tracking shot as she walks among glowing flowers.
## Audio (BGM & SFX)
- BGM: fast drum & bass (170 BPM, seamless loop, 0.2s fade-in/out)
- Cues: [2.3s] whoosh accent; [8.6s] final boost with bass hit
## Dialogues
- [0-2s] @leo: "Hold tight—this ride is full throttle."
"""


def parsed(text: str) -> SceneSpec:
    """Parse, and check on the way that the spec renders back to itself."""
    spec = parse_prompt(text)
    assert parse_prompt(render_prompt(spec)) == spec
    return spec


# --- examples ------------------------------------------------------------------------------------------


def test_issue_example_multi_shot_with_audio_and_dialogue() -> None:
    spec = parsed(ISSUE_EXAMPLE)

    assert spec.text == ""
    assert spec.shots == (
        Shot(0.0, 4.5, "Close-up of @maya's feet as she steps near the water, ripples spreading with light."),
        Shot(4.5, 9.0, "Side-tracking shot as she walks among glowing flowers."),
    )
    assert spec.dialogue == (DialogueLine("leo", "Hold tight—this ride is full throttle.", 0.0, 2.0),)
    assert spec.cues == (
        AudioCue(CueKind.MUSIC, "fast drum & bass (170 BPM, seamless loop, 0.2s fade-in/out)", 0.0, 9.0),
        AudioCue(CueKind.SFX, "whoosh accent", 2.3, None),
        AudioCue(CueKind.SFX, "final boost with bass hit", 8.6, None),
    )
    assert spec.cues[0].bpm == 170
    # No duration written: the 8 s default stretches to the whole second after the 8.6 s cue.
    assert spec.duration == 9.0
    assert spec.mentions == ("maya", "leo")
    assert (spec.resolution, spec.aspect, spec.fps, spec.style) == (
        Resolution.P720,
        Aspect.PORTRAIT,
        24,
        None,
    )


def test_bare_name_says_refers_to_the_mentioned_cameo() -> None:
    spec = parsed('@maya and @leo play chess on the moon, maya says "check."')

    assert spec.text == "@maya and @leo play chess on the moon"
    assert spec.mentions == ("maya", "leo")
    # One untimed line: centred in the 8 s video, as long as one word takes to say (at least 1 s).
    assert spec.dialogue == (DialogueLine("maya", "check.", 3.5, 4.5),)


def test_single_sentence_with_a_line_uses_the_defaults() -> None:
    spec = parsed('@maya surfs a wave at sunset, maya says "let\'s go!"')

    assert spec.text == "@maya surfs a wave at sunset"
    assert spec.dialogue == (DialogueLine("maya", "let's go!", 3.3, 4.7),)
    assert (spec.duration, spec.shots, spec.cues) == (8.0, (), ())


def test_time_coded_lines_are_shots() -> None:
    spec = parsed(
        "0.0-3.0 — Wide shot: @rex the dragon lands on a rooftop at night.\n"
        "3.0-6.0 — @rex breathes neon fire over the city.\n"
        "[00:06-00:08] Close-up of @rex's eyes.\n"
    )

    assert spec.shots == (
        Shot(0.0, 3.0, "Wide shot: @rex the dragon lands on a rooftop at night."),
        Shot(3.0, 6.0, "@rex breathes neon fire over the city."),
        Shot(6.0, 8.0, "Close-up of @rex's eyes."),
    )
    assert spec.mentions == ("rex",)


def test_flags_set_the_output() -> None:
    spec = parsed("@maya dances in the rain --ar 16:9 --duration 12 --seed 7 --res 1080p")

    assert spec.text == "@maya dances in the rain"
    assert (spec.aspect, spec.duration, spec.seed, spec.resolution) == (
        Aspect.LANDSCAPE,
        12.0,
        7,
        Resolution.P1080,
    )


def test_field_lines_set_the_output() -> None:
    spec = parsed(
        "@maya builds a sandcastle that turns into a real castle.\n"
        "duration: 5s\nresolution: 480p\naspect: square\nstyle: claymation\nseed: 42\nfps: 30\n"
    )

    assert spec.text == "@maya builds a sandcastle that turns into a real castle."
    assert (spec.duration, spec.resolution, spec.aspect, spec.style, spec.seed, spec.fps) == (
        5.0,
        Resolution.P480,
        Aspect.SQUARE,
        "claymation",
        42,
        30,
    )


def test_shot_words_curly_quotes_and_a_line_attributed_after_it() -> None:
    spec = parsed(
        "Shot 1: @maya opens the fridge.\nShot 2 (3-6s): @leo peeks in; “Is that my cake?” says @leo."
    )

    assert spec.shots == (Shot(0.0, 3.0, "@maya opens the fridge."), Shot(3.0, 6.0, "@leo peeks in."))
    # Untimed, so it is spoken within its shot: 3-6 s, centred.
    assert spec.dialogue == (DialogueLine("leo", "Is that my cake?", 3.4, 5.6),)


def test_a_comma_before_the_attribution_is_not_spoken() -> None:
    spec = parsed('@maya eats ramen. "So good," maya said. --style anime --fps 30')

    assert spec.text == "@maya eats ramen."
    assert [line.text for line in spec.dialogue] == ["So good"]
    assert (spec.style, spec.fps) == ("anime", 30)


def test_an_email_address_is_not_a_mention() -> None:
    spec = parsed("@maya reads an email from support@example.com on her phone")

    assert spec.mentions == ("maya",)


def test_a_conversation_is_spread_over_the_video_in_order() -> None:
    spec = parsed(
        "@maya and @leo argue about pineapple pizza in a diner.\n"
        "Dialogue:\n"
        '- Maya: "Pineapple belongs on pizza."\n'
        '- Leo: "Absolutely not."\n'
        '- @maya: "Try it."\n'
    )

    assert [(line.speaker, line.text) for line in spec.dialogue] == [
        ("maya", "Pineapple belongs on pizza."),
        ("leo", "Absolutely not."),
        ("maya", "Try it."),
    ]
    starts = [line.start for line in spec.dialogue]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(spec.dialogue, spec.dialogue[1:], strict=False))


def test_sound_heading_ambience_effect_and_timed_music() -> None:
    spec = parsed(
        "@maya walks through a rainy Tokyo street at night, neon reflections everywhere.\n"
        "## Sound\n- rain on umbrellas\n- [4s] a scooter passes\nMusic (2-8s): lo-fi hip hop, 85 BPM\n"
    )

    assert spec.cues == (
        AudioCue(CueKind.AMBIENCE, "rain on umbrellas", 0.0, 8.0),
        AudioCue(CueKind.SFX, "a scooter passes", 4.0, None),
        AudioCue(CueKind.MUSIC, "lo-fi hip hop, 85 BPM", 2.0, 8.0),
    )
    assert spec.cues[2].bpm == 85


def test_indented_lines_continue_a_shot_and_speak_within_it() -> None:
    spec = parsed(
        "1. @maya stands at the edge of a cliff.\n"
        "   The wind whips her hair.\n"
        '   @maya: "Here goes nothing."\n'
        "2. @maya jumps and opens a paraglider.\n"
    )

    assert spec.shots == (
        Shot(0.0, 4.0, "@maya stands at the edge of a cliff. The wind whips her hair."),
        Shot(4.0, 8.0, "@maya jumps and opens a paraglider."),
    )
    assert spec.dialogue == (DialogueLine("maya", "Here goes nothing.", 1.1, 2.9),)


def test_bold_headings_character_handles_and_a_timed_effect() -> None:
    spec = parsed(
        "**Style:** claymation\n**Shots**\n- @Rex_the_Dino roars at a tiny cat\n- the cat roars back, louder\n"
        "**Audio**\n- SFX [3.5s]: a squeaky roar\n"
    )

    assert spec.style == "claymation"
    assert [shot.text for shot in spec.shots] == [
        "@Rex_the_Dino roars at a tiny cat",
        "the cat roars back, louder",
    ]
    # Handles are case-insensitive: the spec holds the canonical form, the text the writer's spelling.
    assert spec.mentions == ("rex_the_dino",)
    assert spec.cues == (AudioCue(CueKind.SFX, "a squeaky roar", 3.5, None),)


def test_a_line_with_only_a_start_lasts_as_long_as_its_words() -> None:
    spec = parsed('@maya waves at the camera\n[2.3s] @maya: "hi!"')

    assert spec.dialogue == (DialogueLine("maya", "hi!", 2.3, 3.3),)


def test_a_time_or_a_delivery_note_may_follow_the_speaker() -> None:
    spec = parsed('@maya juggles\n@maya (2-4s): "look!"\n@maya (whispering) : "ta-da"\nMAYA [6.5s]: "bye"')

    # The note is read past: the engine has no control for delivery, and it must not be spoken. The
    # untimed line goes in the time the timed ones leave free (0-2, 4-6.5, 7.5-8 s), at its middle.
    assert spec.dialogue == (
        DialogueLine("maya", "look!", 2.0, 4.0),
        DialogueLine("maya", "ta-da", 4.0, 5.0),
        DialogueLine("maya", "bye", 6.5, 7.5),
    )


def test_defaults_come_from_the_caller_and_the_seed_from_the_text_when_none_is_given() -> None:
    defaults = PromptDefaults(
        duration=10.0, resolution=Resolution.P1080, aspect=Aspect.SQUARE, fps=30, seed=123
    )

    spec = parse_prompt("@maya juggles", defaults=defaults)

    assert (spec.duration, spec.resolution, spec.aspect, spec.fps, spec.seed) == (
        10.0,
        Resolution.P1080,
        Aspect.SQUARE,
        30,
        123,
    )
    assert parse_prompt("@maya juggles").seed == parse_prompt("@maya juggles").seed
    assert parse_prompt("@maya juggles").seed != parse_prompt("@maya juggles!").seed


# --- refusals ------------------------------------------------------------------------------------------

REFUSALS = [
    ("empty_prompt", " \n\t\n", None),
    ("empty_prompt", "duration: 5s\nBGM: lo-fi", None),
    ("prompt_too_long", "a" * (MAX_PROMPT_CHARS + 1), None),
    ("bad_field", "@maya runs\nresolution: 4k", 2),
    ("bad_field", "@maya runs\nseed: 99999999999", 2),
    ("bad_field", "@maya runs\n\nfps: 1000", 3),
    ("unknown_field", "@maya runs --turbo", 1),
    ("duplicate_field", "@maya runs --ar 16:9\naspect: 9:16", 2),
    ("duration_too_long", "@maya runs\nduration: 25s", 2),
    ("duration_too_short", "@maya runs\nduration: 0.5s", 2),
    ("bad_time", '@maya runs\n[5-2s] @maya: "hi"', 2),
    ("bad_time", "@maya runs\n\n[1:75] a wide shot", 3),
    ("time_past_duration", 'duration: 5s\n@maya runs\n[6-7s] @maya: "hi"', 3),
    ("time_past_duration", "@maya runs\nSFX [25s]: boom", 2),
    ("overlapping_shots", "1. [0-4s] @maya runs\n2. [3-6s] @maya jumps", 2),
    ("overlapping_dialogue", '@maya runs\n[0-2s] @maya: "a"\n[1-3s] @maya: "b"', 3),
    ("unknown_speaker", '@maya runs\n## Dialogue\n- Leo: "hi"', 3),
    ("bad_mention", "@maya meets @jo", 1),
    ("bad_mention", "@maya meets\n@" + "x" * 31, 2),
    ("bad_dialogue", "@maya sits\n## Dialogue\nMaya laughs quietly.", 3),
    ("bad_dialogue", '@maya sits\n@maya: ""', 2),
    ("bad_cue", "@maya runs\n## Audio\n- [2s]", 3),
    ("too_many_parts", "\n".join(f"{n}. @maya pose {n}" for n in range(1, 18)), 17),
    ("too_many_mentions", " ".join(f"@user{n}" for n in range(9)) + " dance", None),
]


@pytest.mark.parametrize(
    ("code", "text", "line"), REFUSALS, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(REFUSALS)]
)
def test_refusal_names_its_code_and_line(code: str, text: str, line: int | None) -> None:
    with pytest.raises(PromptError) as caught:
        parse_prompt(text)

    assert (caught.value.code, caught.value.line) == (code, line), caught.value.message


def test_every_error_code_is_exercised() -> None:
    assert {code for code, _, _ in REFUSALS} == ERROR_CODES


def test_refusal_points_at_the_fragment() -> None:
    with pytest.raises(PromptError) as caught:
        parse_prompt("@maya meets @jo at noon")

    assert (caught.value.column, caught.value.fragment) == (13, "@jo")
    assert "@jo" in caught.value.message
    assert caught.value.location() == {"line": 1, "column": 13, "fragment": "@jo"}


def test_a_bare_name_that_nobody_mentioned_stays_prose() -> None:
    spec = parse_prompt('@maya watches the crowd, the crowd says "hooray"')

    assert spec.dialogue == ()
    assert spec.mentions == ("maya",)


# --- properties ----------------------------------------------------------------------------------------


@PROPERTY
@given(scene_specs())
def test_any_spec_renders_to_text_that_parses_back_to_it(spec: SceneSpec) -> None:
    assert parse_prompt(render_prompt(spec)) == spec


@PROPERTY
@given(st.text(max_size=300))
def test_parse_is_total_on_any_text(text: str) -> None:
    try:
        parse_prompt(text)
    except PromptError as error:
        assert error.code in ERROR_CODES


@PROPERTY
@given(prompt_soup)
def test_parse_is_total_on_pieces_of_the_language(text: str) -> None:
    try:
        spec = parse_prompt(text)
    except PromptError as error:
        assert error.code in ERROR_CODES
    else:
        render_prompt(spec)


ADVERSARIAL = {
    "spaces": "a" + " " * 20_000 + "b",
    "at signs": "@" * 20_000,
    "open brackets": "[" * 20_000,
    "dashes and digits": "0-" * 10_000,
    "straight quotes": '"' * 20_000,
    "curly openers": "“" * 20_000,
    "unclosed lines": 'maya says "' * 1_800,
    "words": "abc " * 5_000,
    "hashes": "#" * 20_000,
    "colons": ":" * 20_000,
    "flags": "--ar " * 4_000,
    "time codes": "[0-2s]" * 3_300,
    "numbered lines": "1.\n" * 6_600,
    "one long word": "a" * 20_000 + ' says "x"',
    "clock-like": "1:" * 10_000,
}


@pytest.mark.parametrize("text", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_hostile_20k_inputs_finish(text: str) -> None:
    """No timing assertion (a shared CI box would make it flaky): the patterns are linear by construction
    (see lexicon), and a catastrophic one would hang here until pytest-timeout fails the run."""
    for variant in (text, "## Audio\nSFX: " + text, '## Dialogue\n@maya: "' + text, "1. " + text):
        with contextlib.suppress(PromptError):
            parse_prompt(variant, max_chars=30_000)


def test_prompt_language_imports_no_django_or_torch() -> None:
    """The web process imports the parser and the spec; neither may pull in Django (so it is testable
    without a database) or torch (so a web process stays light)."""
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys, ml.prompt, ml.scene; "
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'torch', 'numpy'})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        check=True,
    )
    assert done.stdout.strip() == ""
