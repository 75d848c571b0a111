"""``SceneSpec`` back to the prompt language: what a remix starts from, and what ``parse_prompt`` reads back
to the same spec (the property the tests check). Everything is written out explicitly (every time, every
setting) except a cue that spans the whole video, which reads better untimed and stays whole if a remix
changes the duration."""

from __future__ import annotations

from ml.scene import AudioCue, CueKind, SceneSpec

_CUE_LABELS = {CueKind.MUSIC: "Music", CueKind.SFX: "SFX", CueKind.AMBIENCE: "Ambience"}


def render_prompt(spec: SceneSpec) -> str:
    blocks = []
    if spec.text:
        blocks.append(spec.text)
    if spec.shots:
        shots = (
            f"{n}. [{_span(s.start, s.end)}] {s.text}".rstrip() for n, s in enumerate(spec.shots, start=1)
        )
        blocks.append("\n".join(("## Shots", *shots)))
    if spec.dialogue:
        lines = (f'- [{_span(d.start, d.end)}] @{d.speaker}: "{d.text}"' for d in spec.dialogue)
        blocks.append("\n".join(("## Dialogue", *lines)))
    if spec.cues:
        blocks.append("\n".join(("## Audio", *(_cue(cue, spec.duration) for cue in spec.cues))))
    settings = [
        f"duration: {_seconds(spec.duration)}s",
        f"resolution: {spec.resolution.value}",
        f"aspect: {spec.aspect.value}",
        f"fps: {spec.fps}",
        *([f"style: {spec.style}"] if spec.style is not None else []),
        f"seed: {spec.seed}",
    ]
    blocks.append("\n".join(("## Settings", *settings)))
    return "\n\n".join(blocks) + "\n"


def _cue(cue: AudioCue, duration: float) -> str:
    label = _CUE_LABELS[cue.kind]
    if cue.start == 0 and cue.end == duration:
        return f"- {label}: {cue.description}"
    return f"- [{_span(cue.start, cue.end)}] {label}: {cue.description}"


def _span(start: float, end: float | None) -> str:
    return f"{_seconds(start)}s" if end is None else f"{_seconds(start)}-{_seconds(end)}s"


def _seconds(value: float) -> str:
    """Shortest exact writing on the millisecond grid: 2.3, 0, 8.6, 19.999."""
    return f"{value:.3f}".rstrip("0").rstrip(".")
