"""The prompt language: free text people write for a video, to a validated ``ml.scene.SceneSpec`` and back.

What it reads (see ``tests/generation/test_prompt.py`` for whole examples):

- mentions: ``@maya``, ``@maya's``; handles are 3 to 30 letters, digits or ``_`` and case-insensitive; an
  e-mail address is not a mention. A bare ``maya`` in dialogue refers to an ``@maya`` written anywhere.
- shots: ``1. Close-up ...``, ``Shot 2: ...``, time-coded lines (``[0-2s] ...``, ``0.0-5.0 — ...``), or every
  line under a shots heading; an indented line continues the shot above it. Untimed shots share the time.
- times: ``[0-2s]``, ``[2.3s]``, ``(1.5-3 sec)``, ``[00:03-00:05]``, and at a line start ``0.0-5.0 —`` or ``2s:``.
- dialogue: ``[6-8s] @maya: "..."``, ``@maya: "..."``, ``maya says "..."``, ``"..." says @maya`` (straight,
  curly or « » quotes). Untimed lines are spread evenly over their shot, or the whole video.
- sound: ``BGM: ...``, ``Music: ...``, ``SFX [2s]: ...``, ``Ambience: ...``,
  ``Cues: [2.3s] whoosh; [8.6s] hit``; lines under an audio heading are cues too. An untimed cue plays
  throughout; a cue with only a start lasts as long as its sound.
- headings: ``## Audio (BGM & SFX)``, ``## Dialogues``, ``**Shots**``, ``Multi-shot composition:``.
- settings, as lines or flags: ``duration: 12s`` / ``--duration 12``, ``resolution: 720p`` / ``--res``,
  ``aspect: 9:16`` / ``--ar 16:9``, ``fps: 24``, ``style: claymation``, ``seed: 42``.

Defaults (``PromptDefaults``): 8 s (stretched to cover the latest time code), 720p, 9:16, 24 fps, no style,
and a seed derived from the text unless the caller passes one.

Pure Python with no Django import, so it is tested without a database; the generation service turns a
``PromptError`` into the API's ``ApplicationError`` and resolves the mentions to cameos.
"""

from ml.prompt.errors import ERROR_CODES, PromptError
from ml.prompt.parser import MAX_PROMPT_CHARS, PromptDefaults, parse_prompt
from ml.prompt.render import render_prompt

__all__ = [
    "ERROR_CODES",
    "MAX_PROMPT_CHARS",
    "PromptDefaults",
    "PromptError",
    "parse_prompt",
    "render_prompt",
]
