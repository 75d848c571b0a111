"""The words and patterns of the prompt language, and the small parsers for times and settings.

Every pattern is either anchored at the start of a line with bounded repetition, or a left-to-right scan
whose repeated parts cannot overlap (a quoted span stops at the next quote mark of any kind), so a hostile
prompt costs time linear in its length: Python's backtracking engine never gets a pattern it can blow up.
Anything that needs a search over a whole line (a heading's trailing `#`s, a closing quote) is done with
string methods instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ml.prompt.errors import PromptError
from ml.scene import Aspect, CueKind, Resolution

# --- times ---------------------------------------------------------------------------------------------
_UNIT = r"(?:seconds|second|secs|sec|s)\b"
_POINT = rf"(?:[0-9]{{1,2}}:[0-9]{{2}}(?:\.[0-9]{{1,6}})?|[0-9]{{1,4}}(?:\.[0-9]{{1,6}})?(?:\s?{_UNIT})?)"
_RANGE_SEP = r"\s{0,3}(?:-|\u2013|—|to\b)\s{0,3}"
# Atomic, so `0:00 - 0:03 wide` is never re-read as the point `0:00` followed by text.
TIME_RE = re.compile(rf"(?>({_POINT})(?:{_RANGE_SEP}({_POINT}))?)", re.IGNORECASE)
_POINT_PARTS_RE = re.compile(
    rf"(?:([0-9]{{1,2}}):([0-9]{{2}}(?:\.[0-9]{{1,6}})?)|([0-9]{{1,4}}(?:\.[0-9]{{1,6}})?)(\s?{_UNIT})?)",
    re.IGNORECASE,
)
# `[0-2s]`, `(2.3s)`: brackets hold at most 40 characters, so a stray `[` costs nothing.
BRACKET_RE = re.compile(r"[\[(]([^\[\]()\n]{1,40})[\])]\s{0,3}")
# Looks like someone meant a time (`[2-s]`, `[1:75]`): worth an error rather than silently being prose.
_TIMEY_RE = re.compile(
    r"[0-9\s.:,\-\u2013—]{0,20}(?:s|secs?|seconds?)?[0-9\s.:,\-\u2013—]{0,20}(?:s|secs?|seconds?)?", re.I
)
# A bare time starts a line only when a separator follows (`0.0-5.0 —`, `2.3s:`) and it is a range or has
# a unit or a colon: `2 seconds later, @maya jumps` and `1969: the moon landing` stay prose.
_BARE_SEP_RE = re.compile(r"\s{0,3}(?:[:|—\u2013]|-(?=\s))\s*")


@dataclass(frozen=True)
class TimeCode:
    start_ms: int
    end_ms: int | None  # None: a point in time
    column: int  # 1-based, in the raw line
    fragment: str


def _point_ms(text: str) -> int | None:
    match = _POINT_PARTS_RE.fullmatch(text.strip())
    if match is None:
        return None
    minutes, clock_seconds, seconds, _ = match.groups()
    if minutes is not None:
        if float(clock_seconds) >= 60:
            return None
        return int(minutes) * 60_000 + round(float(clock_seconds) * 1000)
    return round(float(seconds) * 1000)


def _time_code(match: re.Match[str], line_number: int, column: int, fragment: str) -> TimeCode:
    start = _point_ms(match.group(1))
    end = _point_ms(match.group(2)) if match.group(2) else None
    if start is None or (match.group(2) and end is None):
        raise PromptError(
            "bad_time",
            f"{fragment!r} is not a time (seconds under 60 in m:ss)",
            line=line_number,
            column=column,
            fragment=fragment,
        )
    if end is not None and end <= start:
        raise PromptError(
            "bad_time",
            f"{fragment!r} ends before it starts",
            line=line_number,
            column=column,
            fragment=fragment,
        )
    return TimeCode(start, end, column, fragment)


def leading_time(text: str, offset: int, line_number: int) -> tuple[TimeCode | None, int]:
    """A time code at ``text[offset:]``: ``[0-2s]``, ``(2.3s)``, ``[00:03-00:05]``, ``0.0-5.0 —``,
    ``0-2s:``. Returns it and the offset after it, or (None, offset). A bracket that looks like a time
    but is not one (``[5-2s]``, ``[1:75]``) raises ``bad_time``."""
    bracket = BRACKET_RE.match(text, offset)
    if bracket is not None:
        inner = bracket.group(1).strip()
        match = TIME_RE.fullmatch(inner)
        fragment = bracket.group(0).strip()
        if match is not None and (match.group(2) or not inner.replace(".", "").isdigit()):
            return _time_code(match, line_number, offset + 1, fragment), bracket.end()
        timey = match is None and any(c.isdigit() for c in inner) and _TIMEY_RE.fullmatch(inner)
        if timey and (any(c in inner for c in ":-\u2013—") or inner[-1:].lower() in "sc"):
            raise PromptError(
                "bad_time",
                f"{fragment!r} is not a time",
                line=line_number,
                column=offset + 1,
                fragment=fragment,
            )
        return None, offset
    match = TIME_RE.match(text, offset)
    if match is None:
        return None, offset
    separator = _BARE_SEP_RE.match(text, match.end())
    unitless_point = match.group(2) is None and match.group(1).replace(".", "").isdigit()
    if separator is None or unitless_point:
        return None, offset
    fragment = match.group(0)
    return _time_code(match, line_number, offset + 1, fragment), separator.end()


# --- line structure ------------------------------------------------------------------------------------
# `- `, `* `, `1. `, `2) `; a lone `1.` is an empty item, so joining lines never makes one.
BULLET_RE = re.compile(r"(?:[-*•+]|[0-9]{1,2}[.)])(?:[ \t]+|[ \t]*$)")
SHOT_WORD_RE = re.compile(
    r"(?:shot|cut|clip|scene)[ \t]{0,3}#?[ \t]{0,3}[0-9]{1,2}\b[ \t]{0,3}", re.IGNORECASE
)
SHOT_WORD_SEP_RE = re.compile(r"[ \t]{0,3}(?:[:.)]|[-\u2013—](?=\s))[ \t]*")
HEADING_RE = re.compile(r"[ \t]{0,3}#{1,6}")
SPEAKER_RE = re.compile(r"(@?)([A-Za-z0-9_]{3,30})[ \t]{0,3}")
COLON_RE = re.compile(r"[ \t]{0,3}:[ \t]*")

NARRATOR_NAMES = {"narrator", "narration", "vo", "voiceover", "voice"}  # `Narrator: ...` is no cameo
SECTION_WORDS = {
    "dialogue": {
        "dialog",
        "dialogs",
        "dialogue",
        "dialogues",
        "lines",
        "script",
        "speech",
        "voiceover",
        "vo",
        "narration",
        "narrator",
        "subtitles",
        "subtitle",
        "captions",
    },
    "audio": {
        "audio",
        "sound",
        "sounds",
        "music",
        "bgm",
        "sfx",
        "ambience",
        "ambiance",
        "soundtrack",
        "cue",
        "cues",
    },
    "shots": {"shot", "shots", "scenes", "storyboard", "composition", "sequence", "timeline", "cuts"},
}
KIND_WORDS = {
    CueKind.MUSIC: {"music", "bgm", "soundtrack", "song"},
    CueKind.SFX: {"sfx", "effect", "effects", "foley", "cue", "cues"},
    CueKind.AMBIENCE: {"ambience", "ambiance", "ambient", "atmosphere"},
}

# A cue line: `BGM: ...`, `SFX [2s]: ...`, `Music - lo-fi beat`, `Cues: [2.3s] whoosh; [8.6s] hit`.
_CUE_LABELS = {
    "background music": CueKind.MUSIC,
    "bgm": CueKind.MUSIC,
    "music": CueKind.MUSIC,
    "soundtrack": CueKind.MUSIC,
    "song": CueKind.MUSIC,
    "sound effects": CueKind.SFX,
    "sound effect": CueKind.SFX,
    "sfx": CueKind.SFX,
    "foley": CueKind.SFX,
    "cues": CueKind.SFX,
    "cue": CueKind.SFX,
    "sounds": CueKind.SFX,
    "sound": CueKind.SFX,
    "ambience": CueKind.AMBIENCE,
    "ambiance": CueKind.AMBIENCE,
    "ambient sound": CueKind.AMBIENCE,
    "ambient": CueKind.AMBIENCE,
    "atmosphere": CueKind.AMBIENCE,
    "room tone": CueKind.AMBIENCE,
}
CUE_LABEL_RE = re.compile(
    r"(" + "|".join(sorted(_CUE_LABELS, key=len, reverse=True)) + r")(?![A-Za-z])[ \t]{0,3}", re.IGNORECASE
)
CUE_SEP_RE = re.compile(r"[ \t]{0,3}(?::|[-\u2013—](?=\s))[ \t]*")


def cue_kind(label: str) -> CueKind:
    return _CUE_LABELS[" ".join(label.lower().split())]


# --- dialogue spoken inside a sentence -----------------------------------------------------------------
QUOTE_PAIRS = {'"': '"', "“": "”", "«": "»"}
_QUOTE = r'(?:"([^"“”«»\n]*)"|“([^"“”«»\n]*)”|«([^"“”«»\n]*)»)'
_VERB = (
    r"(?:says|said|say|shouts|shouted|yells|yelled|whispers|whispered|asks|asked|replies|replied|exclaims"
    r"|exclaimed|screams|screamed|sings|sang|adds|added|answers|answered|mutters|muttered|cries|cried|goes)\b"
)
_NAME = r"(?<![\w@.+\-])(@?)([A-Za-z0-9_]{3,30})(?!\w)"
_CONNECTOR = r"(?:[,;]?[ \t]{0,3}(?:\b(?:and|then|while|as)\b)?[ \t]{0,3})"
# `maya says "check."`, `@maya shouts: "go!"`, `"let's go!" says @maya`, `"check," maya said`.
INLINE_DIALOGUE_RE = re.compile(
    rf"{_CONNECTOR}(?:{_NAME}[ \t]{{1,3}}{_VERB}[ \t]{{0,3}}[,:]?[ \t]{{0,3}}{_QUOTE}"
    rf"|{_QUOTE}[ \t]{{0,3}},?[ \t]{{0,3}}(?:{_VERB}[ \t]{{1,3}}{_NAME}|{_NAME}[ \t]{{1,3}}{_VERB}))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class InlineLine:
    speaker_at: bool  # written with `@`
    speaker: str  # as written, without `@`
    text: str
    start: int  # span in the line, connector included
    end: int


def inline_dialogue(text: str) -> list[InlineLine]:
    found = []
    for match in INLINE_DIALOGUE_RE.finditer(text):
        groups = match.groups()
        # groups: pre (at, name, q1, q2, q3), post (q1, q2, q3, at, name, at, name)
        if groups[1] is not None:
            at, name, words = groups[0], groups[1], next(g for g in groups[2:5] if g is not None)
        else:
            words = next(g for g in groups[5:8] if g is not None)
            at, name = (groups[8], groups[9]) if groups[9] is not None else (groups[10], groups[11])
        found.append(InlineLine(bool(at), name, words, match.start(), match.end()))
    return found


def unquote(text: str) -> str:
    """``"Hold tight"`` -> ``Hold tight``: the outer pair only, so quotes inside a line survive."""
    if len(text) >= 2 and text[0] in QUOTE_PAIRS and text[-1] == QUOTE_PAIRS[text[0]]:
        return text[1:-1]
    return text


# --- settings ------------------------------------------------------------------------------------------
FIELD_KEYS = {
    "duration": "duration",
    "length": "duration",
    "runtime": "duration",
    "dur": "duration",
    "resolution": "resolution",
    "res": "resolution",
    "aspect ratio": "aspect",
    "aspect_ratio": "aspect",
    "aspect-ratio": "aspect",
    "aspect": "aspect",
    "ratio": "aspect",
    "ar": "aspect",
    "style": "style",
    "seed": "seed",
    "fps": "fps",
    "frame rate": "fps",
    "framerate": "fps",
}
FIELD_LINE_RE = re.compile(
    r"("
    + "|".join(re.escape(k) for k in sorted(FIELD_KEYS, key=len, reverse=True))
    + r")[ \t]{0,3}[:=][ \t]*",
    re.IGNORECASE,
)
# `--duration 12 --ar 16:9`: a flag starts a word; the value is the next word unless that is a flag.
FLAG_RE = re.compile(r"(?<!\S)--([A-Za-z][A-Za-z_-]{0,19})(?![\w-])(?:(?:[ \t]{1,3}|=)(?!--)(\S{1,60}))?")

_DURATION_RE = re.compile(r"([0-9]{1,3}(?:\.[0-9]{1,6})?)[ \t]?(?:seconds|second|secs|sec|s)?", re.IGNORECASE)
_FPS_RE = re.compile(r"([0-9]{1,3})[ \t]?(?:fps)?", re.IGNORECASE)
_RESOLUTIONS = {
    "480p": Resolution.P480,
    "480": Resolution.P480,
    "sd": Resolution.P480,
    "720p": Resolution.P720,
    "720": Resolution.P720,
    "hd": Resolution.P720,
    "1080p": Resolution.P1080,
    "1080": Resolution.P1080,
    "fullhd": Resolution.P1080,
    "fhd": Resolution.P1080,
}
_ASPECTS = {
    "9:16": Aspect.PORTRAIT,
    "portrait": Aspect.PORTRAIT,
    "vertical": Aspect.PORTRAIT,
    "16:9": Aspect.LANDSCAPE,
    "landscape": Aspect.LANDSCAPE,
    "horizontal": Aspect.LANDSCAPE,
    "widescreen": Aspect.LANDSCAPE,
    "1:1": Aspect.SQUARE,
    "square": Aspect.SQUARE,
}


def field_value(name: str, raw: str) -> object | None:
    """The value of setting ``name`` written as ``raw``, or None when it cannot be one. Range checks are
    the spec's (so the limits live in one place); this only reads the notation."""
    value = unquote(raw.strip()).strip()
    folded = "".join(value.lower().split())
    if name == "duration":
        match = _DURATION_RE.fullmatch(value) or None
        if match is not None:
            return round(float(match.group(1)) * 1000)
        clock = _point_ms(value) if ":" in value else None
        return clock
    if name == "fps":
        match = _FPS_RE.fullmatch(value)
        return int(match.group(1)) if match else None
    if name == "seed":
        return int(value) if value.isascii() and value.isdigit() and len(value) <= 10 else None
    if name == "resolution":
        return _RESOLUTIONS.get(folded)
    if name == "aspect":
        return _ASPECTS.get(folded.replace("x", ":").replace("/", ":"))
    return value or None  # style: any text


FIELD_HELP = {
    "duration": "seconds, e.g. 12s",
    "resolution": "480p, 720p or 1080p",
    "aspect": "9:16, 16:9 or 1:1",
    "fps": "frames per second, e.g. 24",
    "seed": "a whole number from 0 to 4294967295",
    "style": "a few words, e.g. claymation",
}
