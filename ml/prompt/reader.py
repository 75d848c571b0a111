"""Reading a prompt line by line into drafts: shots, dialogue, cues, prose and settings, with their lines.

A heading sets how the lines under it read; each line is then, in this order, a setting, a sound cue, a
line of dialogue, a shot, the continuation of a shot, or prose. Times stay as written (``TimeCode``);
``parser`` settles what was left untimed once the whole prompt, and so the duration, is known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ml.prompt import lexicon
from ml.prompt.errors import PromptError
from ml.prompt.lexicon import TimeCode
from ml.scene import CueKind, mentions_in, normalize_text


@dataclass
class ShotDraft:
    line: int
    time: TimeCode | None
    texts: list[str]


NARRATOR = ""  # LineDraft.speaker of a line nobody on screen says: read by the narrator


@dataclass
class LineDraft:
    line: int
    speaker: str  # a handle, or NARRATOR
    text: str
    time: TimeCode | None
    shot: int | None  # index of the shot it is spoken in, which bounds an untimed line


@dataclass
class CueDraft:
    line: int
    kind: CueKind
    description: str
    time: TimeCode | None


@dataclass
class Reader:
    known: set[str]  # every handle mentioned with `@` anywhere: a bare `maya says` refers to one of them
    section: str = ""  # "", "shots", "dialogue" or "audio": set by the latest heading
    section_kind: CueKind | None = None  # an audio heading that names one kind of sound
    shot_open: bool = False  # an indented line continues the latest shot
    fields: dict[str, tuple[object, int]] = field(default_factory=dict)
    prose: list[tuple[int, str]] = field(default_factory=list)
    shots: list[ShotDraft] = field(default_factory=list)
    dialogue: list[LineDraft] = field(default_factory=list)
    cues: list[CueDraft] = field(default_factory=list)

    def read(self, number: int, raw: str) -> None:
        if not raw.strip():
            self.shot_open = False
            return
        if self._heading(raw):
            self.shot_open = False
            return
        indent = len(raw) - len(raw.lstrip())
        offset, marker = indent, ""
        bullet = lexicon.BULLET_RE.match(raw, offset)
        if bullet is not None:
            marker = "number" if raw[offset].isdigit() else "bullet"
            offset = bullet.end()
        line = _unbold(raw, offset)
        setting = lexicon.FIELD_LINE_RE.match(line, offset)
        if setting is not None:
            self._field(number, lexicon.FIELD_KEYS[" ".join(setting.group(1).lower().split())], line, setting)
            return
        shot_word = lexicon.SHOT_WORD_RE.match(line, offset)
        if shot_word is not None:
            marker, offset = "number", shot_word.end()
        time, offset = lexicon.leading_time(line, offset, number)
        if shot_word is not None and (separator := lexicon.SHOT_WORD_SEP_RE.match(line, offset)):
            offset = separator.end()
        in_shot = len(self.shots) - 1 if indent and self.shot_open else None
        if self._cue(number, line, offset, time) or self._spoken(number, line, offset, time, in_shot):
            return
        if self.section == "dialogue" and (
            time is not None or lexicon.unquote(line[offset:]) != line[offset:]
        ):
            # `[0-2s] Welcome to the coast.` under a dialogue / subtitles / VO heading: narration
            self._add_line(number, offset, NARRATOR, lexicon.unquote(line[offset:].strip()), time, in_shot)
            return
        if self.section == "dialogue":
            raise PromptError(
                "bad_dialogue",
                'Under a dialogue heading, write each line as @name: "what they say"',
                line=number,
                column=offset + 1,
                fragment=line[offset:],
            )
        if self.section == "audio":
            kind = self.section_kind or (CueKind.SFX if time else CueKind.AMBIENCE)
            self._add_cue(number, offset, kind, line[offset:], time)
        elif in_shot is not None and not marker and time is None:
            self.shots[in_shot].texts.append(self._text(number, line, offset, in_shot))
        elif marker == "number" or time is not None or self.section == "shots":
            self.shots.append(ShotDraft(number, time, []))
            self.shots[-1].texts.append(self._text(number, line, offset, len(self.shots) - 1))
            self.shot_open = True
        else:
            self.prose.append((number, self._text(number, line, offset, None)))
            self.shot_open = False

    def _heading(self, raw: str) -> bool:
        """`## Dialogues`, `**Audio**`, `Multi-shot composition:`: a heading sets how the lines below it read."""
        body = raw.strip()
        markdown = lexicon.HEADING_RE.match(raw)
        if markdown is not None:
            title = raw[markdown.end() :].strip().strip("#")
        elif len(body) <= 60 and (body.endswith(":") or (body.startswith("**") and body.endswith("**"))):
            title = body.strip("*").strip()
            if not title.endswith(":") and not body.startswith("**"):
                return False
        else:
            return False
        words = re.findall(r"[a-z]+", title.lower())
        section = next(
            (name for word in words for name, keys in lexicon.SECTION_WORDS.items() if word in keys), ""
        )
        if markdown is None and (not section or len(words) > 6):
            return False
        self.section = section
        kinds = {kind for kind, keys in lexicon.KIND_WORDS.items() if keys.intersection(words)}
        self.section_kind = kinds.pop() if len(kinds) == 1 else None
        return True

    def _field(self, number: int, name: str, line: str, match: re.Match[str]) -> None:
        self._set_field(number, name, line[match.end() :], match.start() + 1, line[match.start() :].strip())

    def _set_field(self, number: int, name: str, raw: str, column: int, fragment: str) -> None:
        value = lexicon.field_value(name, raw)
        if value is None:
            raise PromptError(
                "bad_field",
                f"{name} {raw.strip()[:40]!r} is not valid: {lexicon.FIELD_HELP[name]}",
                line=number,
                column=column,
                fragment=fragment,
            )
        if name == "style":
            value = normalize_text(str(value))
        if name in self.fields and self.fields[name][0] != value:
            raise PromptError(
                "duplicate_field",
                f"{name} is given twice, differently (first on line {self.fields[name][1]})",
                line=number,
                column=column,
                fragment=fragment,
            )
        self.fields[name] = (value, number)

    def _cue(self, number: int, line: str, offset: int, time: TimeCode | None) -> bool:
        """`BGM: ...`, `SFX [2s]: ...`, `Cues: [2.3s] whoosh; [8.6s] hit` (one cue per time-coded item)."""
        label = lexicon.CUE_LABEL_RE.match(line, offset)
        if label is None:
            return False
        position = label.end()
        separator = lexicon.CUE_SEP_RE.match(line, position)
        if separator is None:
            label_time, position = lexicon.leading_time(line, position, number)
            separator = lexicon.CUE_SEP_RE.match(line, position)
            if separator is None:
                return False
            time = time or label_time
        kind = lexicon.cue_kind(label.group(1))
        items: list[tuple[TimeCode | None, int, int]] = []  # time, description start, description end
        start = separator.end()
        for part in line[start:].split(";"):
            lead = len(part) - len(part.lstrip())
            item_time, after = lexicon.leading_time(line, start + lead, number)
            items.append((item_time, after, start + len(part)))
            start += len(part) + 1
        if len(items) > 1 and all(item_time is not None for item_time, _, _ in items[1:]):
            for item_time, begin, end in items:
                self._add_cue(number, begin, kind, line[begin:end], item_time or time)
        elif time is None and items[0][0] is not None:
            self._add_cue(number, items[0][1], kind, line[items[0][1] :], items[0][0])
        else:
            self._add_cue(number, separator.end(), kind, line[separator.end() :], time)
        return True

    def _add_cue(self, number: int, column: int, kind: CueKind, text: str, time: TimeCode | None) -> None:
        description = normalize_text(text)
        if not description:
            raise PromptError(
                "bad_cue",
                f"The {kind.value} cue says nothing: describe the sound",
                line=number,
                column=column + 1,
            )
        self.cues.append(CueDraft(number, kind, description, time))

    def _spoken(
        self, number: int, line: str, offset: int, time: TimeCode | None, in_shot: int | None
    ) -> bool:
        """`@maya: "Hold tight"`, `[6-8s] maya: "..."`, `@maya (2-4s): "..."`, `@maya (softly): "..."`, and
        any `name: ...` under a dialogue heading."""
        match = lexicon.SPEAKER_RE.match(line, offset)
        if match is None:
            return False
        position = match.end()
        if line[position : position + 1] in ("[", "("):
            late_time, position = lexicon.leading_time(line, position, number)
            time = time or late_time
        close = line.find(")", position, position + 42) if line.startswith("(", position) else -1
        if close > 0:  # `@maya (whispering): "..."`: a delivery note the engine has no control for, read past
            position = close + 1
        colon = lexicon.COLON_RE.match(line, position)
        if colon is None:
            return False
        rest = line[colon.end() :].strip()
        quoted = lexicon.unquote(rest) != rest
        if not (quoted or self.section == "dialogue" or (time is not None and match.group(1))):
            return False
        handle = match.group(2).lower()
        if not match.group(1) and handle not in self.known and handle in lexicon.NARRATOR_NAMES:
            self._add_line(number, colon.end(), NARRATOR, lexicon.unquote(rest), time, in_shot)
            return True
        if not match.group(1) and handle not in self.known:
            if self.section == "dialogue" or (time is not None and quoted):
                raise PromptError(
                    "unknown_speaker",
                    f"{match.group(2)} speaks but is not mentioned: write @{match.group(2)} to cast them",
                    line=number,
                    column=match.start() + 1,
                    fragment=match.group(2),
                )
            return False
        self._add_line(number, colon.end(), handle, lexicon.unquote(rest), time, in_shot)
        return True

    def _add_line(
        self, number: int, column: int, handle: str, words: str, time: TimeCode | None, shot: int | None
    ) -> None:
        text = normalize_text(words)
        if not text:
            who = f"@{handle}'s" if handle != NARRATOR else "The narrator's"
            raise PromptError("bad_dialogue", f"{who} line is empty", line=number, column=column + 1)
        self.dialogue.append(LineDraft(number, handle, text, time, shot))

    def _text(self, number: int, line: str, offset: int, shot: int | None) -> str:
        """Prose or a shot's text, with inline dialogue (`maya says "check."`) and `--flags` taken out."""
        segment = line[offset:]
        kept: list[str] = []
        position, changed = 0, False
        for spoken in lexicon.inline_dialogue(segment):
            handle = spoken.speaker.lower()
            if not spoken.speaker_at and handle not in self.known:
                continue  # `the crowd says "hooray"`: prose, nobody the engine can voice
            # `"So good," maya said`: the comma belongs to the sentence around the quote, not to the words.
            self._add_line(
                number, offset + spoken.start, handle, spoken.text.rstrip().removesuffix(","), None, shot
            )
            elsewhere = mentions_in(segment[: spoken.start] + " " + segment[spoken.end :])
            # `@maya says "hi"` keeps `@maya` in the text when nothing else there says she is in it.
            kept.extend(
                (
                    segment[position : spoken.start],
                    f" @{spoken.speaker} " if spoken.speaker_at and handle not in elsewhere else " ",
                )
            )
            position, changed = spoken.end, True
        kept.append(segment[position:])
        remainder = "".join(kept)
        for flag in reversed(list(lexicon.FLAG_RE.finditer(remainder))):
            self._flag(number, line, flag)
            remainder = remainder[: flag.start()] + " " + remainder[flag.end() :]
            changed = True
        text = normalize_text(remainder)
        return _tidy(text) if changed else text

    def _flag(self, number: int, line: str, flag: re.Match[str]) -> None:
        key = flag.group(1).lower()
        name = lexicon.FIELD_KEYS.get(key.replace("-", " ").replace("_", " ")) or lexicon.FIELD_KEYS.get(key)
        column = max(line.find(flag.group(0)), 0) + 1
        if name is None:
            raise PromptError(
                "unknown_field",
                f"--{key} is not a setting: use --duration, --ar, --res, --fps, --style or --seed",
                line=number,
                column=column,
                fragment=flag.group(0),
            )
        self._set_field(number, name, flag.group(2) or "", column, flag.group(0))


def _unbold(line: str, offset: int) -> str:
    """`**Shot 1:** text` reads as `Shot 1: text`: bold marks structure, it is not content."""
    if not line.startswith("**", offset):
        return line
    close = line.find("**", offset + 2)
    if close < 0:
        return line
    return line[:offset] + line[offset + 2 : close] + line[close + 2 :]


def _tidy(text: str) -> str:
    """Mend the punctuation left where a spoken line or a flag was cut out of a sentence."""
    text = re.sub(r" ([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])[,;:]+", r"\1", text)
    text = re.sub(r"[,;:]([.!?])", r"\1", text)
    text = re.sub(r"([.!?])\.+", r"\1", text)
    while True:
        trimmed = text.strip(" ,;:-\u2013—")
        for word in (" and", " then", " while", " as"):
            if trimmed.lower().endswith(word):
                trimmed = trimmed[: -len(word)]
        if trimmed == text:
            return text
        text = trimmed
