"""Sound a prompt asks for in its own words, and the place's ambience when it asks for nothing.

People write sound into the scene ("a string quartet plays", "rain drums on a tin roof", "the crowd
cheers") as often as under an audio heading. ``intended_cues`` reads the scene text and each shot's text
clause by clause and turns such phrases into cues, placed at the start of the text they are in (a shot's
start, or 0 for the scene). A kind the writer already gave a cue for is left to the writer. When the
result still has neither music nor ambience, the place the engine draws gives a bed (``PLACE_AMBIENCE``),
so no video is silent.
"""

from __future__ import annotations

import re

from ml.scene import MAX_CUES, AudioCue, CueKind, SceneSpec

# (kind, description the cue generator reads, phrases that ask for it); the first row that matches wins
INTENTS: tuple[tuple[CueKind, str, tuple[str, ...]], ...] = (
    (CueKind.AMBIENCE, "rain on a roof", ("rain", "drizzle", "downpour", "storm")),
    (CueKind.SFX, "thunder boom", ("thunder",)),
    (CueKind.SFX, "crowd cheers", ("cheer", "applau", "claps", "clapping", "ovation")),
    (
        CueKind.MUSIC,
        "string quartet",
        ("string quartet", "quartet", "violin", "cello", "orchestra", "strings"),
    ),
    (CueKind.MUSIC, "calm piano", ("piano",)),
    (
        CueKind.MUSIC,
        "upbeat band (120 BPM)",
        ("band plays", "music plays", "song", "guitar", "jazz", "rock", " dj ", "drummer", "drums play"),
    ),
    (CueKind.AMBIENCE, "crowd chatter", ("crowd", "chatter", "murmur", "audience")),
    (CueKind.AMBIENCE, "wind gusts", ("wind", "breeze", "gust")),
    (CueKind.AMBIENCE, "birds in the forest", ("birds", "birdsong", "chirp")),
    (CueKind.AMBIENCE, "sea waves on the shore", ("waves crash", "surf roars", "sound of the sea")),
    (CueKind.AMBIENCE, "city traffic", ("traffic", "horns honk", "sirens")),
    (CueKind.SFX, "explosion boom", ("explodes", "explosion", "blast")),
    (CueKind.SFX, "door slam hit", ("slams", "door slam", "knock")),
    (CueKind.SFX, "bell ding", ("bell rings", "bells ring", "chime")),
    (CueKind.SFX, "phone ring beep", ("phone rings", "alarm")),
    (CueKind.SFX, "splash", ("splash", "dives in", "jumps into the water")),
)
PLACE_AMBIENCE = {  # the reference model's places (ml.generation.reference.corpus.PLACES)
    "beach": "sea waves on the shore",
    "city": "city street traffic",
    "forest": "birds in the forest",
    "snow": "wind over snow",
    "desert": "wind over the desert",
    "moon": "quiet space hum",
}
ROOM_TONE = "room tone"
_CLAUSE = re.compile(r"[,.;:!?]|\band\b|\bwhile\b|\bas\b")


def _clauses(text: str) -> list[str]:
    return [clause.strip() for clause in _CLAUSE.split(text.lower()) if clause.strip()]


def _intent(clause: str) -> tuple[CueKind, str] | None:
    padded = f" {clause} "
    for kind, description, phrases in INTENTS:
        if any(re.search(rf"(?<![a-z]){re.escape(phrase.strip())}", padded) for phrase in phrases):
            return kind, description
    return None


def intended_cues(spec: SceneSpec, place: str | None = None) -> tuple[AudioCue, ...]:
    """Cues the prompt's words ask for, then the place's ambience if there is still no bed (module
    docstring); never more than the spec has room for (``MAX_CUES``)."""
    written = {cue.kind for cue in spec.cues}
    found: list[AudioCue] = []
    texts = [(0.0, spec.text), *((shot.start, shot.text) for shot in spec.shots)]
    for start, text in texts:
        for clause in _clauses(text):
            intent = _intent(clause)
            if intent is None or intent[0] in written:
                continue
            kind, description = intent
            if any(cue.description == description for cue in found):
                continue
            found.append(
                AudioCue(kind, description, start, None)
            )  # beds run to the end, effects their length
    beds = written | {cue.kind for cue in found}
    if CueKind.AMBIENCE not in beds and CueKind.MUSIC not in beds:
        found.append(AudioCue(CueKind.AMBIENCE, PLACE_AMBIENCE.get(place or "", ROOM_TONE), 0.0, None))
    return tuple(found[: max(MAX_CUES - len(spec.cues), 0)])
