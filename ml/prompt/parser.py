"""Free text to ``SceneSpec``: check the whole, read the lines, settle untimed parts, let the spec check itself.

Nothing here looks at the database: mentions stay handles, and the service resolves them to cameos (and
refuses an unknown one) afterwards. Times are settled in whole milliseconds and turned into seconds only at
the end, so the spec's floats sit on its millisecond grid.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ml.prompt.errors import PromptError
from ml.prompt.lexicon import TimeCode
from ml.prompt.reader import NARRATOR, CueDraft, LineDraft, Reader, ShotDraft
from ml.scene import (
    HANDLE_RE,
    MAX_DURATION_S,
    MAX_TEXT_CHARS,
    Aspect,
    AudioCue,
    DialogueLine,
    NarrationLine,
    Resolution,
    SceneError,
    SceneSpec,
    Shot,
    mention_tokens,
)

MAX_PROMPT_CHARS = MAX_TEXT_CHARS
_MAX_DURATION_MS = round(MAX_DURATION_S * 1000)
# An untimed line lasts about as long as it takes to say: 150 words a minute and a breath, at least 1 s.
_MS_PER_WORD, _BREATH_MS, _MIN_LINE_MS = 400, 600, 1000


@dataclass(frozen=True)
class PromptDefaults:
    """What a prompt gets when it does not say. The service passes ``seed`` (a fresh random number per job)
    so that "generate again" gives a new take; without one the seed is derived from the prompt's text,
    which keeps this function pure: the same text always parses to the same spec."""

    duration: float = 8.0  # seconds; raised to cover the latest time code when no duration is given
    resolution: Resolution = Resolution.P720  # sharp on a phone, affordable to generate
    aspect: Aspect = Aspect.PORTRAIT  # the feed is vertical
    fps: int = 24
    style: str | None = None
    seed: int | None = None


def parse_prompt(
    text: str, *, defaults: PromptDefaults = PromptDefaults(), max_chars: int = MAX_PROMPT_CHARS
) -> SceneSpec:
    """Parse what a person wrote into a validated scene, or raise ``PromptError`` (and nothing else) naming
    the line and the problem. ``max_chars`` bounds the work one request can ask for."""
    # 1. the prompt as a whole
    if len(text) > max_chars:
        raise PromptError("prompt_too_long", f"The prompt has {len(text)} characters; at most {max_chars}.")
    if not text.strip():
        raise PromptError("empty_prompt", "The prompt is empty: describe the scene.")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # 2. mentions first, so a bare `maya says` anywhere can refer to an `@maya` written later
    reader = Reader(known=_mentions(lines))
    # 3. line by line
    for number, line in enumerate(lines, start=1):
        reader.read(number, line)
    # 4. settings, then the times that depend on the duration, then the spec
    duration_ms = _duration_ms(reader, defaults)
    shot_spans = _shot_spans(reader, duration_ms)
    values = {name: value for name, (value, _) in reader.fields.items()}
    seed = values.get("seed", defaults.seed)
    line_spans = _line_spans(reader, shot_spans, duration_ms)
    try:
        return SceneSpec(
            text=" ".join(prose for _, prose in reader.prose if prose),
            shots=tuple(
                Shot(start=start / 1000, end=end / 1000, text=" ".join(t for t in draft.texts if t))
                for draft, (start, end) in zip(reader.shots, shot_spans, strict=True)
            ),
            dialogue=tuple(
                DialogueLine(speaker=draft.speaker, text=draft.text, start=start / 1000, end=end / 1000)
                for draft, (start, end) in zip(reader.dialogue, line_spans, strict=True)
                if draft.speaker != NARRATOR
            ),
            narration=tuple(
                NarrationLine(text=draft.text, start=start / 1000, end=end / 1000)
                for draft, (start, end) in zip(reader.dialogue, line_spans, strict=True)
                if draft.speaker == NARRATOR
            ),
            cues=tuple(
                AudioCue(
                    kind=draft.kind,
                    description=draft.description,
                    start=0.0 if draft.time is None else draft.time.start_ms / 1000,
                    end=_cue_end(draft.time, duration_ms),
                )
                for draft in reader.cues
            ),
            duration=duration_ms / 1000,
            fps=values.get("fps", defaults.fps),  # type: ignore[arg-type]
            resolution=values.get("resolution", defaults.resolution),  # type: ignore[arg-type]
            aspect=values.get("aspect", defaults.aspect),  # type: ignore[arg-type]
            style=values.get("style", defaults.style),  # type: ignore[arg-type]
            seed=_derived_seed(text) if seed is None else seed,  # type: ignore[arg-type]
        )
    except SceneError as error:
        at_line = _line_of(reader, error.where)
        source = lines[at_line - 1] if at_line is not None else ""
        raise PromptError(
            error.code,
            error.message,
            line=at_line,
            column=len(source) - len(source.lstrip()) + 1 if at_line is not None else None,
            fragment=source.strip(),
        ) from error


def _mentions(lines: list[str]) -> set[str]:
    """Every handle written with `@`; an `@` followed by something that cannot be a handle is refused here
    rather than passed over, because a mention decides whose likeness is used."""
    known = set()
    for number, line in enumerate(lines, start=1):
        for position, word in mention_tokens(line):
            if not HANDLE_RE.fullmatch(word):
                raise PromptError(
                    "bad_mention",
                    f"@{word[:40]} is not a handle: 3 to 30 letters, digits or _",
                    line=number,
                    column=position + 1,
                    fragment="@" + word,
                )
            known.add(word.lower())
    return known


def _duration_ms(reader: Reader, defaults: PromptDefaults) -> int:
    """The written duration, else the default stretched (to a whole second) over the latest time code, so
    `[8.6s] final hit` works without also writing `duration: 9s`."""
    if "duration" in reader.fields:
        return reader.fields["duration"][0]  # type: ignore[return-value]
    duration = round(defaults.duration * 1000)
    drafts: list[ShotDraft | LineDraft | CueDraft] = [*reader.shots, *reader.dialogue, *reader.cues]
    timed = [(d.time, d.line) for d in drafts if d.time is not None]
    for time, number in timed:
        needed = time.end_ms if time.end_ms is not None else time.start_ms + 1
        if needed > _MAX_DURATION_MS:
            raise PromptError(
                "time_past_duration",
                f"{time.fragment} is past the longest video, {MAX_DURATION_S:g} s",
                line=number,
                column=time.column,
                fragment=time.fragment,
            )
        duration = max(duration, -(-needed // 1000) * 1000)
    return duration


def _shot_spans(reader: Reader, duration_ms: int) -> list[tuple[int, int]]:
    """Each run of untimed shots shares the time between its neighbours equally (all of it, when no shot
    has a time); a shot with only a start runs until the next one starts."""
    shots, spans = reader.shots, []
    index = 0
    while index < len(shots):
        time = shots[index].time
        if time is not None and time.end_ms is not None:
            spans.append((time.start_ms, time.end_ms))
            index += 1
            continue
        run_start = time.start_ms if time is not None else (spans[-1][1] if spans else 0)
        after = index + 1
        while after < len(shots) and shots[after].time is None:
            after += 1
        next_time = shots[after].time if after < len(shots) else None
        run_end = next_time.start_ms if next_time is not None else duration_ms
        if run_end <= run_start:
            late = shots[after] if after < len(shots) else shots[index]
            raise PromptError(
                "overlapping_shots" if after < len(shots) else "time_past_duration",
                f"no time left for the shot on line {shots[index].line}: it would start at {run_start / 1000:g} s "
                f"and must end by {run_end / 1000:g} s",
                line=late.line,
            )
        slot = (run_end - run_start) // (after - index)
        spans.extend((run_start + k * slot, run_start + (k + 1) * slot) for k in range(after - index))
        index = after
    return spans


def _line_spans(reader: Reader, shot_spans: list[tuple[int, int]], duration_ms: int) -> list[tuple[int, int]]:
    """Timed lines keep their times (a start alone lasts as long as the words take). Untimed lines share
    the time their shot (or the whole video) leaves free between timed lines, in equal slots, each line
    centred in its slot: people take turns, and the order written is the order spoken."""
    spans: list[tuple[int, int]] = [(0, 0)] * len(reader.dialogue)
    untimed: dict[int | None, list[int]] = {}
    for index, draft in enumerate(reader.dialogue):
        if draft.time is None:
            untimed.setdefault(draft.shot, []).append(index)
        elif draft.time.end_ms is None:
            spans[index] = (draft.time.start_ms, min(draft.time.start_ms + _spoken_ms(draft), duration_ms))
        else:
            spans[index] = (draft.time.start_ms, draft.time.end_ms)
    busy = sorted(spans[i] for i, draft in enumerate(reader.dialogue) if draft.time is not None)
    for shot, indices in untimed.items():
        begin, end = shot_spans[shot] if shot is not None else (0, duration_ms)
        free = _free_time(begin, end, busy) or [(begin, end)]
        slot = sum(b - a for a, b in free) // len(indices)
        for k, index in enumerate(indices):
            start, stop = _place(free, k * slot + slot // 2, min(_spoken_ms(reader.dialogue[index]), slot))
            spans[index] = (start, stop)
    return spans


def _free_time(begin: int, end: int, busy: list[tuple[int, int]]) -> list[tuple[int, int]]:
    free, cursor = [], begin
    for start, stop in busy:
        if start > cursor:
            free.append((cursor, min(start, end)))
        cursor = max(cursor, stop)
    free.append((cursor, end))
    return [(a, b) for a, b in free if b > a]


def _place(free: list[tuple[int, int]], centre: int, length: int) -> tuple[int, int]:
    """A span of ``length`` around the point ``centre`` ms into the free time, kept inside one free interval."""
    index = 0
    while index < len(free) - 1 and centre >= free[index][1] - free[index][0]:
        centre -= free[index][1] - free[index][0]
        index += 1
    a, b = free[index]
    length = min(length, b - a)
    start = min(max(a + centre - length // 2, a), b - length)
    return start, start + length


def _spoken_ms(draft: LineDraft) -> int:
    return max(_MIN_LINE_MS, _MS_PER_WORD * len(draft.text.split()) + _BREATH_MS)


def _cue_end(time: TimeCode | None, duration_ms: int) -> float | None:
    if time is None:
        return duration_ms / 1000  # an untimed cue plays under the whole scene
    return None if time.end_ms is None else time.end_ms / 1000


def _derived_seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:4], "big")


def _line_of(reader: Reader, where: tuple[str, int | None]) -> int | None:
    part, index = where
    parts: dict[str, list[ShotDraft] | list[LineDraft] | list[CueDraft]] = {
        "shots": reader.shots,
        "dialogue": [draft for draft in reader.dialogue if draft.speaker != NARRATOR],
        "narration": [draft for draft in reader.dialogue if draft.speaker == NARRATOR],
        "cues": reader.cues,
    }
    if part in parts:
        drafts = parts[part]
        return drafts[min(index, len(drafts) - 1)].line if index is not None and drafts else None
    if part in reader.fields:
        return reader.fields[part][1]
    if part == "text" and reader.prose:
        return reader.prose[0][0]
    return None
