"""The one error the prompt language raises: a stable code, a message naming the offending part, and where."""

from __future__ import annotations

from typing import Any

# Stable codes: the API returns them and clients switch on them, so a code is never renamed.
ERROR_CODES = frozenset(
    {
        "empty_prompt",  # nothing but whitespace, or nothing to show (only settings or sounds)
        "prompt_too_long",  # over the character limit
        "bad_field",  # a known setting with a value it cannot take (`resolution: 4k`, `seed: -1`)
        "unknown_field",  # a `--flag` that is not a setting
        "duplicate_field",  # a setting given twice with different values
        "duration_too_long",  # over 20 s
        "duration_too_short",  # under 1 s
        "bad_time",  # a time code that is malformed, or ends before it starts
        "time_past_duration",  # a time at or past the end of the video
        "overlapping_shots",  # a shot starts before the previous one ends
        "overlapping_dialogue",  # one speaker says two lines at once
        "unknown_speaker",  # a dialogue line by someone not mentioned with `@`
        "bad_mention",  # `@` followed by something that cannot be a handle
        "bad_dialogue",  # a line under a dialogue heading that is not a line of dialogue, or an empty one
        "bad_cue",  # a sound cue with nothing described
        "too_many_parts",  # too many shots, dialogue lines or cues
        "too_many_mentions",  # too many people or characters for one video
    }
)


class PromptError(ValueError):
    """Why a prompt cannot be used, precisely enough to show the writer where to fix it.

    ``line`` and ``column`` are 1-based (None when the whole prompt is at fault); ``fragment`` is the
    offending text as written. The generation service turns this into the API's ApplicationError with
    ``extra = error.location()``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        fragment: str = "",
    ) -> None:
        assert code in ERROR_CODES, f"unregistered prompt error code {code!r}"
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.code = code
        self.message = message
        self.line = line
        self.column = column
        self.fragment = fragment[:80]

    def location(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "fragment": self.fragment}
