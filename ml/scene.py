"""The scene specification: what a prompt means, in a form the engine, the worker and the database share.

Pure Python on purpose (no torch, numpy or Django): the web process builds and stores it, the GPU worker
receives it as JSON, and the engine in ``ml/`` consumes it. A ``SceneSpec`` checks itself when it is
built, so an invalid one never exists; ``SceneError`` names the offending value and says where it is
(``where``: a part and its index), which lets the prompt parser point at the line that produced it.

Times are seconds as floats on a millisecond grid (``2.3``, never ``2.30000001``): the grid makes a spec
render to text and parse back to the very same floats. Handles are stored lower-case without ``@``,
because handles are case-insensitive everywhere in the product; prose keeps the writer's spelling.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from typing import Any

MAX_DURATION_S = 20.0  # the product's limit on one generation
MIN_DURATION_S = 1.0  # shorter is not a video anyone can see
MIN_FPS, MAX_FPS = 8, 60
MAX_SEED = 2**32 - 1  # seeds are 32-bit so every engine and RNG accepts them
MAX_TEXT_CHARS = 4000  # any one text field; the prompt as a whole has the same limit
MAX_SHOTS = 16
MAX_DIALOGUE_LINES = 32
MAX_CUES = 32
MAX_MENTIONS = 8  # identities the engine conditions on at once
SPEC_VERSION = 1  # bumped when the dict layout changes, so stored specs can be migrated

# A handle is what follows `@`: a username or a character's handle (accounts.models.username_validator).
HANDLE_RE = re.compile(r"[A-Za-z0-9_]{3,30}")
# `@` starts a mention unless it sits inside a word (an e-mail address: `maya@example.com`). Unicode \w on
# both sides so `@mayá` is one malformed token rather than the mention `@may` followed by `á`.
MENTION_TOKEN_RE = re.compile(r"(?<![\w.+\-])@(\w+)")
BPM_RE = re.compile(r"(?<![0-9])([0-9]{2,3})\s?bpm\b", re.IGNORECASE)
_UNPRINTABLE_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class SceneError(ValueError):
    """An invalid scene. ``code`` is stable (clients and the prompt parser switch on it); ``where`` is the
    part at fault, e.g. ``("dialogue", 2)`` or ``("duration", None)``."""

    def __init__(self, code: str, message: str, where: tuple[str, int | None] = ("scene", None)) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.where = where


class Resolution(enum.Enum):
    """Output size by its short side, as people say it."""

    P480 = "480p"
    P720 = "720p"
    P1080 = "1080p"

    @property
    def short_side(self) -> int:
        return int(self.value[:-1])


class Aspect(enum.Enum):
    """Frame shape, width:height. 9:16 first: the app is a vertical feed."""

    PORTRAIT = "9:16"
    LANDSCAPE = "16:9"
    SQUARE = "1:1"

    @property
    def ratio(self) -> tuple[int, int]:
        width, height = self.value.split(":")
        return int(width), int(height)


def frame_size(resolution: Resolution, aspect: Aspect) -> tuple[int, int]:
    """(width, height) of a finished video: the short side is the resolution, the long one follows the
    aspect, both even (H.264's 4:2:0 needs it). 720p 9:16 -> (720, 1280), 480p 16:9 -> (854, 480)."""
    short = resolution.short_side
    ratio_w, ratio_h = aspect.ratio
    long = short * max(ratio_w, ratio_h) / min(ratio_w, ratio_h)
    long_even = 2 * math.ceil(long / 2 - 1e-9)
    return (long_even, short) if ratio_w > ratio_h else (short, long_even)


class CueKind(enum.Enum):
    MUSIC = "music"  # a score or song under the scene
    SFX = "sfx"  # a sound effect, usually at one moment
    AMBIENCE = "ambience"  # the sound of the place: rain, traffic, crowd


def normalize_text(text: str) -> str:
    """One line, single spaces, no control characters or lone surrogates: the only form a text field
    may take, so that rendering and parsing agree and stored JSON is valid UTF-8."""
    return " ".join(_UNPRINTABLE_RE.sub(" ", text).split())


def mention_tokens(text: str) -> list[tuple[int, str]]:
    """Every `@word` token that is not inside a word, valid handle or not: (offset of `@`, word)."""
    return [(match.start(), match.group(1)) for match in MENTION_TOKEN_RE.finditer(text)]


def mentions_in(text: str) -> list[str]:
    """Valid handles mentioned in ``text``, lower-case, in order of first appearance, without repeats."""
    found: list[str] = []
    for _, word in mention_tokens(text):
        handle = word.lower()
        if HANDLE_RE.fullmatch(word) and handle not in found:
            found.append(handle)
    return found


@dataclass(frozen=True)
class Shot:
    """One continuous camera take. Between shots (a gap) the scene text alone describes the frames."""

    start: float  # seconds from the start of the video
    end: float  # seconds; after start
    text: str  # what the shot shows; keeps `@handle` tokens so the engine knows who is in it


@dataclass(frozen=True)
class DialogueLine:
    """A line spoken by a mentioned cameo, in that cameo's voice, with lips in sync."""

    speaker: str  # handle, lower-case, without `@`; always one of the scene's mentions
    text: str  # the words spoken, without the surrounding quotes
    start: float  # seconds
    end: float  # seconds; after start. One speaker's lines never overlap (others may talk over them)


@dataclass(frozen=True)
class NarrationLine:
    """A line read by a narrator (no one on screen speaks it): unattributed lines under a dialogue,
    subtitles or voice-over heading. Spoken in the synthesizer's neutral voice; no mouth moves."""

    text: str  # the words read
    start: float  # seconds
    end: float  # seconds; after start. Narration lines never overlap one another


@dataclass(frozen=True)
class AudioCue:
    """Music, an effect or ambience, mixed in at its time."""

    kind: CueKind
    description: str  # what it sounds like, as written ("fast drum & bass (170 BPM, seamless loop)")
    start: float  # seconds
    end: float | None  # seconds after start; None: it lasts as long as the sound does (a one-shot effect,
    # or music and ambience that run to the end)

    @property
    def bpm(self) -> int | None:
        """Tempo named in the description ("170 BPM"), for the music generator; None when not given."""
        match = BPM_RE.search(self.description)
        return int(match.group(1)) if match else None


# The closed vocabulary of a cameo's appearance: wardrobe colours (sRGB), the only thing an owner's free-text
# guidance can become in a spec. A closed set, not text: whatever the guidance says, it can add nothing
# else (no words reach the prompt, no mention, no setting).
WARDROBE_COLOURS: dict[str, tuple[int, int, int]] = {
    "black": (20, 20, 20),
    "white": (235, 235, 235),
    "grey": (128, 128, 128),
    "red": (200, 30, 30),
    "orange": (235, 130, 20),
    "yellow": (240, 210, 30),
    "green": (40, 150, 60),
    "blue": (30, 70, 200),
    "purple": (120, 50, 160),
    "pink": (240, 130, 170),
    "brown": (120, 75, 40),
}
_COLOUR_SPELLINGS = {"gray": "grey", "violet": "purple"}
MAX_APPEARANCE_COLOURS = 3
_WORD_RE = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class CameoAppearance:
    """How one mentioned cameo looks, as its owner set it: scoped to that cameo. The engine may use it only
    when drawing this person (e.g. a wardrobe tint); it is never prompt text and mentions no one."""

    handle: str  # lower-case, without `@`; one of the scene's mentions
    colours: tuple[str, ...]  # wardrobe colours, keys of WARDROBE_COLOURS, at most MAX_APPEARANCE_COLOURS

    @classmethod
    def from_guidance(cls, handle: str, guidance: str) -> CameoAppearance | None:
        """The colours named in an owner's free-text guidance ("always wears a red scarf" -> red), in order
        of first appearance; None when it names none. Everything else in the text is dropped."""
        colours: list[str] = []
        for word in _WORD_RE.findall(guidance.lower()):
            colour = _COLOUR_SPELLINGS.get(word, word)
            if colour in WARDROBE_COLOURS and colour not in colours:
                colours.append(colour)
        return cls(handle=handle, colours=tuple(colours[:MAX_APPEARANCE_COLOURS])) if colours else None


@dataclass(frozen=True)
class SceneSpec:
    """A validated scene: everything the engine needs, nothing about who may use which cameo (the
    service resolves ``mentions`` to cameos and checks consent before a spec reaches a worker)."""

    text: str  # the scene as a whole (applies to every shot); may be empty when shots carry it all
    shots: tuple[Shot, ...] = ()  # in order, not overlapping; empty: one continuous shot of `text`
    dialogue: tuple[DialogueLine, ...] = ()  # in the order written
    cues: tuple[AudioCue, ...] = ()  # in the order written
    duration: float = 8.0  # seconds, MIN_DURATION_S to MAX_DURATION_S
    fps: int = 24  # frames per second of the output
    resolution: Resolution = Resolution.P720
    aspect: Aspect = Aspect.PORTRAIT
    style: str | None = None  # a look applied to everything ("claymation"); None: the engine's own
    seed: int = 0  # 0 to MAX_SEED; same spec + seed + identities give the same video on one machine
    # Per-cameo looks set by the cameos' owners (not by the prompt's writer), at most one per mention; not
    # text, so they add no mention and change nothing else in the scene.
    appearance: tuple[CameoAppearance, ...] = ()
    narration: tuple[NarrationLine, ...] = ()  # in the order written; read by a narrator

    def __post_init__(self) -> None:
        self.check()

    @property
    def mentions(self) -> tuple[str, ...]:
        """Handles in order of first appearance, reading text, shots, dialogue, cues, style. Derived, not
        stored, so it can never disagree with the text; the service resolves each one to a cameo."""
        found: list[str] = []
        for text in self._texts():
            found.extend(handle for handle in mentions_in(text) if handle not in found)
        return tuple(found)

    @property
    def frame_count(self) -> int:
        return round(self.duration * self.fps)

    def _texts(self) -> list[str]:
        texts = [self.text, *(shot.text for shot in self.shots)]
        for line in self.dialogue:
            texts.extend(("@" + line.speaker, line.text))
        texts.extend(cue.description for cue in self.cues)
        if self.style is not None:
            texts.append(self.style)
        return texts

    def check(self) -> None:
        """Raise ``SceneError`` naming the first invalid value; the spec is immutable, so once is enough."""
        _check_settings(self)
        _check_text(self.text, ("text", None), "the scene text", allow_empty=True)
        if self.style is not None:
            _check_text(self.style, ("style", None), "style")
        for name, parts, limit in (
            ("shots", self.shots, MAX_SHOTS),
            ("dialogue", self.dialogue, MAX_DIALOGUE_LINES),
            ("narration", self.narration, MAX_DIALOGUE_LINES),
            ("cues", self.cues, MAX_CUES),
        ):
            if not isinstance(parts, tuple):
                raise SceneError(
                    "bad_field", f"{name} must be a tuple, not {type(parts).__name__}", (name, None)
                )
            if len(parts) > limit:
                raise SceneError("too_many_parts", f"{len(parts)} {name}; at most {limit}", (name, limit))
        _check_shots(self)
        _check_dialogue(self)
        _check_cues(self)
        _check_appearance(self)
        _check_narration(self)
        if not (self.text or self.shots or self.dialogue or self.narration):
            raise SceneError("empty_prompt", "The scene shows nothing: describe what happens.")
        if len(self.mentions) > MAX_MENTIONS:
            raise SceneError(
                "too_many_mentions",
                f"{len(self.mentions)} people or characters mentioned ({', '.join(self.mentions)}); "
                f"at most {MAX_MENTIONS}",
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (for a JSONField and the worker's message); ``mentions`` is included for readers."""
        return {
            "version": SPEC_VERSION,
            "text": self.text,
            "shots": [{"start": s.start, "end": s.end, "text": s.text} for s in self.shots],
            "dialogue": [
                {"speaker": d.speaker, "text": d.text, "start": d.start, "end": d.end} for d in self.dialogue
            ],
            "cues": [
                {"kind": c.kind.value, "description": c.description, "start": c.start, "end": c.end}
                for c in self.cues
            ],
            "duration": self.duration,
            "fps": self.fps,
            "resolution": self.resolution.value,
            "aspect": self.aspect.value,
            "style": self.style,
            "seed": self.seed,
            "mentions": list(self.mentions),
            # only when set: the looks are attached for rendering, and a stored spec has none
            **(
                {"appearance": [{"handle": a.handle, "colours": list(a.colours)} for a in self.appearance]}
                if self.appearance
                else {}
            ),
            # only when present, so specs stored before narration existed read back unchanged
            **(
                {"narration": [{"text": n.text, "start": n.start, "end": n.end} for n in self.narration]}
                if self.narration
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneSpec:
        """The inverse of ``to_dict``; a stored or received dict is untrusted, so every value is checked
        (ValueError naming it) and ``mentions``, if present, must agree with the text."""
        try:
            if data.get("version", SPEC_VERSION) != SPEC_VERSION:
                raise ValueError(
                    f"unsupported spec version {data.get('version')!r}; this code reads {SPEC_VERSION}"
                )
            spec = cls(
                text=_typed(data, "text", str),
                shots=tuple(
                    Shot(start=_time(d, "start"), end=_time(d, "end"), text=_typed(d, "text", str))
                    for d in _typed(data, "shots", list)
                ),
                dialogue=tuple(
                    DialogueLine(
                        speaker=_typed(d, "speaker", str),
                        text=_typed(d, "text", str),
                        start=_time(d, "start"),
                        end=_time(d, "end"),
                    )
                    for d in _typed(data, "dialogue", list)
                ),
                cues=tuple(
                    AudioCue(
                        kind=CueKind(_typed(d, "kind", str)),
                        description=_typed(d, "description", str),
                        start=_time(d, "start"),
                        end=None if d.get("end") is None else _time(d, "end"),
                    )
                    for d in _typed(data, "cues", list)
                ),
                duration=_time(data, "duration"),
                fps=_typed(data, "fps", int),
                resolution=Resolution(_typed(data, "resolution", str)),
                aspect=Aspect(_typed(data, "aspect", str)),
                style=None if data.get("style") is None else _typed(data, "style", str),
                seed=_typed(data, "seed", int),
                appearance=tuple(
                    CameoAppearance(
                        handle=_typed(d, "handle", str),
                        colours=tuple(_typed(d, "colours", list)),
                    )
                    for d in (_typed(data, "appearance", list) if "appearance" in data else [])
                ),
                narration=tuple(
                    NarrationLine(text=_typed(d, "text", str), start=_time(d, "start"), end=_time(d, "end"))
                    for d in data.get("narration", [])
                ),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a scene spec dict: {exc!r}") from exc
        if "mentions" in data and list(data["mentions"]) != list(spec.mentions):
            raise ValueError(
                f"mentions {data['mentions']!r} disagree with the text, which has {list(spec.mentions)!r}"
            )
        return spec


def _typed(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{key} must be {kind.__name__}, not {value!r}")
    return value


def _time(data: dict[str, Any], key: str) -> float:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number of seconds, not {value!r}")
    return float(value)


def _seconds(value: object) -> str:
    return f"{value:g} s" if isinstance(value, int | float) and not isinstance(value, bool) else repr(value)


def _check_time(value: object, where: tuple[str, int | None], what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise SceneError("bad_time", f"{what} {value!r} is not a time in seconds", where)
    if round(value, 3) != value:
        raise SceneError("bad_time", f"{what} {value!r} is finer than a millisecond", where)


def _check_span(
    start: object, end: object, duration: float, where: tuple[str, int | None], what: str
) -> None:
    _check_time(start, where, f"{what} start")
    if end is not None:
        _check_time(end, where, f"{what} end")
    assert isinstance(start, int | float)
    if start >= duration:
        raise SceneError(
            "time_past_duration",
            f"{what} starts at {_seconds(start)}, when the {_seconds(duration)} video is over",
            where,
        )
    if end is not None:
        assert isinstance(end, int | float)
        if end <= start:
            raise SceneError(
                "bad_time", f"{what} ends at {_seconds(end)}, not after its start {_seconds(start)}", where
            )
        if end > duration:
            raise SceneError(
                "time_past_duration",
                f"{what} ends at {_seconds(end)}, after the {_seconds(duration)} video is over",
                where,
            )


def _check_text(text: object, where: tuple[str, int | None], what: str, *, allow_empty: bool = False) -> None:
    if not isinstance(text, str):
        raise SceneError("bad_field", f"{what} must be text, not {text!r}", where)
    if not text and not allow_empty:
        raise SceneError("bad_field", f"{what} is empty", where)
    if normalize_text(text) != text:
        raise SceneError("bad_field", f"{what} {text[:40]!r} must be one line with single spaces", where)
    if len(text) > MAX_TEXT_CHARS:
        raise SceneError("bad_field", f"{what} has {len(text)} characters; at most {MAX_TEXT_CHARS}", where)
    for _, word in mention_tokens(text):
        if not HANDLE_RE.fullmatch(word):
            raise SceneError(
                "bad_mention", f"@{word[:40]} is not a handle: 3 to 30 letters, digits or _", where
            )


def _check_settings(spec: SceneSpec) -> None:
    duration = spec.duration
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not math.isfinite(duration):
        raise SceneError("bad_field", f"duration {duration!r} is not a number of seconds", ("duration", None))
    if duration > MAX_DURATION_S:
        raise SceneError(
            "duration_too_long",
            f"duration {_seconds(duration)} is over {_seconds(MAX_DURATION_S)}",
            ("duration", None),
        )
    if duration < MIN_DURATION_S:
        raise SceneError(
            "duration_too_short",
            f"duration {_seconds(duration)} is under {_seconds(MIN_DURATION_S)}",
            ("duration", None),
        )
    _check_time(duration, ("duration", None), "duration")
    if isinstance(spec.fps, bool) or not isinstance(spec.fps, int) or not MIN_FPS <= spec.fps <= MAX_FPS:
        raise SceneError(
            "bad_field", f"fps {spec.fps!r} is not a whole number from {MIN_FPS} to {MAX_FPS}", ("fps", None)
        )
    if isinstance(spec.seed, bool) or not isinstance(spec.seed, int) or not 0 <= spec.seed <= MAX_SEED:
        raise SceneError(
            "bad_field", f"seed {spec.seed!r} is not a whole number from 0 to {MAX_SEED}", ("seed", None)
        )
    if not isinstance(spec.resolution, Resolution):
        raise SceneError(
            "bad_field", f"resolution {spec.resolution!r} is not a Resolution", ("resolution", None)
        )
    if not isinstance(spec.aspect, Aspect):
        raise SceneError("bad_field", f"aspect {spec.aspect!r} is not an Aspect", ("aspect", None))


def _check_shots(spec: SceneSpec) -> None:
    previous_end = 0.0
    for index, shot in enumerate(spec.shots):
        where = ("shots", index)
        _check_text(shot.text, where, f"shot {index + 1}", allow_empty=True)
        _check_span(shot.start, shot.end, spec.duration, where, f"shot {index + 1}")
        if shot.start < previous_end:
            raise SceneError(
                "overlapping_shots",
                f"shot {index + 1} starts at {_seconds(shot.start)}, before shot {index} ends at {_seconds(previous_end)}",
                where,
            )
        previous_end = shot.end


def _check_dialogue(spec: SceneSpec) -> None:
    spoken: dict[str, list[tuple[float, float]]] = {}
    for index, line in enumerate(spec.dialogue):
        where = ("dialogue", index)
        if (
            not isinstance(line.speaker, str)
            or not HANDLE_RE.fullmatch(line.speaker)
            or line.speaker != line.speaker.lower()
        ):
            raise SceneError("bad_mention", f"speaker {line.speaker!r} is not a lower-case handle", where)
        _check_text(line.text, where, f"@{line.speaker}'s line")
        _check_span(line.start, line.end, spec.duration, where, f"@{line.speaker}'s line")
        for start, end in spoken.get(line.speaker, []):
            if line.start < end and start < line.end:
                raise SceneError(
                    "overlapping_dialogue",
                    f"@{line.speaker} speaks from {_seconds(line.start)} to {_seconds(line.end)} while already "
                    f"speaking from {_seconds(start)} to {_seconds(end)}",
                    where,
                )
        spoken.setdefault(line.speaker, []).append((line.start, line.end))


def _check_cues(spec: SceneSpec) -> None:
    for index, cue in enumerate(spec.cues):
        where = ("cues", index)
        if not isinstance(cue.kind, CueKind):
            raise SceneError("bad_field", f"cue kind {cue.kind!r} is not a CueKind", where)
        _check_text(cue.description, where, f"{cue.kind.value} cue {index + 1}")
        _check_span(cue.start, cue.end, spec.duration, where, f"{cue.kind.value} cue")


def _check_appearance(spec: SceneSpec) -> None:
    if not isinstance(spec.appearance, tuple):
        raise SceneError(
            "bad_field",
            f"appearance must be a tuple, not {type(spec.appearance).__name__}",
            ("appearance", None),
        )
    seen: set[str] = set()
    for index, look in enumerate(spec.appearance):
        where = ("appearance", index)
        if not isinstance(look, CameoAppearance):
            raise SceneError("bad_field", f"appearance {index + 1} is not a CameoAppearance", where)
        if look.handle not in spec.mentions:
            raise SceneError(
                "bad_mention", f"appearance for @{str(look.handle)[:40]}, who is not in the scene", where
            )
        if look.handle in seen:
            raise SceneError("bad_field", f"a second appearance for @{look.handle}", where)
        seen.add(look.handle)
        colours = look.colours
        if (
            not isinstance(colours, tuple)
            or not 0 < len(colours) <= MAX_APPEARANCE_COLOURS
            or any(not isinstance(colour, str) or colour not in WARDROBE_COLOURS for colour in colours)
        ):
            raise SceneError(
                "bad_field",
                f"@{look.handle}'s colours {colours!r} are not 1 to {MAX_APPEARANCE_COLOURS} of "
                f"{', '.join(WARDROBE_COLOURS)}",
                where,
            )


def _check_narration(spec: SceneSpec) -> None:
    read: list[tuple[float, float]] = []
    for index, line in enumerate(spec.narration):
        where = ("narration", index)
        _check_text(line.text, where, "the narrator's line")
        _check_span(line.start, line.end, spec.duration, where, "the narrator's line")
        for start, end in read:
            if line.start < end and start < line.end:
                raise SceneError(
                    "overlapping_dialogue",
                    f"the narrator reads from {_seconds(line.start)} to {_seconds(line.end)} while already "
                    f"reading from {_seconds(start)} to {_seconds(end)}",
                    where,
                )
        read.append((line.start, line.end))
