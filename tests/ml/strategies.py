"""Hypothesis strategies for scene specs and prompt-like text, shared by the scene and prompt tests."""

from __future__ import annotations

from hypothesis import assume
from hypothesis import strategies as st

from ml.scene import (
    HANDLE_RE,
    MAX_SEED,
    Aspect,
    AudioCue,
    CueKind,
    DialogueLine,
    Resolution,
    SceneError,
    SceneSpec,
    Shot,
    mention_tokens,
    normalize_text,
)

HANDLES = ["maya", "leo", "rex_the_dino", "zed99", "ana"]
# Words a scene is written in: mentions in several spellings, punctuation glued on, non-ASCII, digits.
FIRST_WORDS = [
    "A",
    "The",
    "Close-up",
    "Wide",
    "Slow",
    "Golden",
    "Night",
    "Two",
    "@maya",
    "@Leo",
    "@rex_the_dino's",
]
WORDS = [
    *FIRST_WORDS,
    "dog",
    "runs",
    "across",
    "the",
    "beach",
    "at",
    "sunset,",
    "slowly",
    "neon",
    "city.",
    "rain",
    "glowing",
    "flowers!",
    "camera",
    "pans",
    "left",
    "of",
    "over",
    "with",
    "light",
    "and",
    "3",
    "café",
    "🌊",
    "—",
    "&",
    "it's",
    "(slow-motion)",
    "@maya's",
    "@ZED99",
    "@ana",
    "why?",
    "170 BPM",
    "email: hi@example.com",
]


def prose(*, min_words: int = 1, max_words: int = 12) -> st.SearchStrategy[str]:
    first = st.sampled_from(FIRST_WORDS)
    rest = st.lists(st.sampled_from(WORDS), min_size=min_words - 1, max_size=max_words - 1)
    return st.builds(lambda a, b: " ".join([a, *b]), first, rest)


def spoken_text() -> st.SearchStrategy[str]:
    """What someone says: any printable text, quotes and colons included, with well-formed mentions."""
    raw = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=40)
    return raw.map(normalize_text).filter(
        lambda text: bool(text) and all(HANDLE_RE.fullmatch(word) for _, word in mention_tokens(text))
    )


def _spans(draw: st.DrawFn, duration_ms: int, count: int) -> list[tuple[int, int]]:
    """``count`` ordered, non-overlapping spans inside the video (gaps allowed)."""
    cuts = sorted(
        draw(st.lists(st.integers(0, duration_ms), min_size=2 * count, max_size=2 * count, unique=True))
    )
    return [(cuts[2 * k], cuts[2 * k + 1]) for k in range(count)]


@st.composite
def scene_specs(draw: st.DrawFn) -> SceneSpec:
    duration_ms = draw(st.integers(1000, 20_000))
    shot_count = draw(st.integers(0, 4))
    shots = tuple(
        Shot(start=a / 1000, end=b / 1000, text=draw(st.one_of(st.just(""), prose())))
        for a, b in _spans(draw, duration_ms, shot_count)
    )
    lines = []
    for speaker in draw(st.lists(st.sampled_from(HANDLES), max_size=3, unique=True)):
        for a, b in _spans(draw, duration_ms, draw(st.integers(1, 2))):
            lines.append(
                DialogueLine(speaker=speaker, text=draw(spoken_text()), start=a / 1000, end=b / 1000)
            )
    dialogue = tuple(draw(st.permutations(lines))) if lines else ()
    cues = []
    for _ in range(draw(st.integers(0, 3))):
        start = draw(st.integers(0, duration_ms - 1))
        end = draw(st.one_of(st.none(), st.integers(start + 1, duration_ms)))
        cues.append(
            AudioCue(
                kind=draw(st.sampled_from(CueKind)),
                description=draw(prose(max_words=6)),
                start=start / 1000,
                end=None if end is None else end / 1000,
            )
        )
    text = draw(st.one_of(st.just(""), prose()))
    assume(text or shots or dialogue)
    try:
        return SceneSpec(
            text=text,
            shots=shots,
            dialogue=dialogue,
            cues=tuple(cues),
            duration=duration_ms / 1000,
            fps=draw(st.integers(8, 60)),
            resolution=draw(st.sampled_from(Resolution)),
            aspect=draw(st.sampled_from(Aspect)),
            style=draw(st.one_of(st.none(), prose(max_words=3))),
            seed=draw(st.integers(0, MAX_SEED)),
        )
    except SceneError as error:  # too many mentions: a valid spec is what is asked for
        assume(error.code != "too_many_mentions")
        raise


# Pieces of the prompt language, well-formed and not, for fuzzing the parser with text that reaches deep.
PROMPT_PIECES = [
    "@maya",
    "@Leo's",
    "maya",
    "says",
    "said",
    '"',
    "“",
    "”",
    "«",
    "hi there",
    "[0-2s]",
    "[2.3s]",
    "[5-2s]",
    "[1:75]",
    "(0-3s)",
    "0.0-5.0 —",
    "[00:03-00:05]",
    "2s:",
    "1.",
    "2)",
    "Shot 2:",
    "## Audio",
    "## Dialogue",
    "# Shots",
    "**Shots**",
    "Dialogue:",
    "BGM:",
    "SFX",
    "Cues:",
    "Music (2-8s):",
    ";",
    "--ar",
    "16:9",
    "--duration",
    "--seed",
    "--x",
    "25",
    "duration:",
    "12s",
    "seed:",
    "style:",
    "fps: 30",
    "resolution: 1080p",
    "-",
    ":",
    "  ",
    "\t",
    "@",
    "@ab",
    "x@y.com",
    "(",
    ")",
    "[",
    "]",
    "170 BPM",
    "wave",
    "and",
    "é",
    "\u2028",
    "\x00",
]
prompt_soup = st.lists(
    st.tuples(st.sampled_from(PROMPT_PIECES), st.sampled_from([" ", "", "\n", "\n\n", "\r\n"])), max_size=40
).map(lambda pairs: "".join(piece + gap for piece, gap in pairs))
