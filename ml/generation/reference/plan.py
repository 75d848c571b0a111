"""From a scene spec to what the reference model can draw: one ``ShotPlan`` per stretch of the timeline.

The reference model knows six places, six sky colours, three camera moves and four motions
(``corpus.py``). A prompt says much more ("waves at the sea at sunset", "a kitchen", "chess on the moon");
the planner maps it onto that vocabulary and says what it chose, so the app can show "rendered as: a beach
under an orange sky" rather than pretend:

* place: the nearest of the places by all-MiniLM-L6-v2 cosine similarity between the prompt and a few
  phrases per place (``PLACE_PHRASES``); ``place_similarity`` records how close it was;
* sky colour: a colour word, else a time of day ("sunset" -> orange, "night" -> purple), else blue;
* camera: "pan"/"tracking"/"follows" -> pan, "zoom"/"push in"/"dolly in" -> zoom, else still;
* motion: walk left/right, bounce ("jumps", "dances"), fall ("trips"), else ``still`` (the person stands
  where the model puts them; the model itself is asked for the centred "bounces" layout, whose column the
  renderer keeps and whose height it does not);
* framing: "close-up" -> close, "wide"/"establishing" -> wide, else medium.

The timeline: each shot of the spec is its own plan (its text read with the scene's text, so a shot that
names no place stays where the scene is); the stretches between shots, or the whole video when there are
no shots, are planned from the scene text. A new plan begins at every shot's start: a cut.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ml.generation.reference import corpus
from ml.scene import MENTION_TOKEN_RE, SceneSpec, mentions_in

TextEncode = Callable[[list[str]], torch.Tensor]

PLACE_PHRASES = {
    "beach": (
        "a beach by the sea",
        "ocean waves on the shore",
        "surfing in the sea",
        "a sandy coast with water",
        "a lake, a river, a boat on the water",
    ),
    "moon": (
        "the surface of the moon",
        "outer space with stars and craters",
        "an astronaut on a planet",
        "a space station at night",
    ),
    "forest": (
        "a forest with trees",
        "a park with grass",
        "a garden full of plants",
        "a jungle in nature",
        "a picnic in a meadow",
    ),
    "city": (
        "a city street with buildings",
        "downtown traffic in a town",
        "a kitchen, a room, an office inside a building",
        "a cafe, a restaurant, a shop, a bar",
        "a stage, a concert hall, a stadium with a crowd",
    ),
    "snow": (
        "a snowy field in winter",
        "skiing down snowy mountains",
        "ice and snow, a frozen lake",
        "a cold arctic landscape",
    ),
    "desert": (
        "a desert with sand dunes",
        "a hot dry canyon",
        "a dusty road in the desert",
        "a camel in the sahara",
    ),
}
TIME_OF_DAY = (  # (words, sky colour)
    (("sunset", "sunrise", "dusk", "dawn", "golden hour", "autumn"), "orange"),
    (("night", "midnight", "evening", "starry", "dark"), "purple"),
    (("storm", "fire", "lava", "burning", "apocalypse"), "red"),
    (("noon", "sunny", "bright", "summer"), "yellow"),
    (("spring", "meadow", "jungle"), "green"),
)
COLOUR_ALIASES = {"violet": "purple", "pink": "purple", "gold": "yellow", "golden": "yellow"}
CAMERA_WORDS = (
    (("zoom", "zooms", "push in", "pushes in", "dolly in", "closer and closer"), "zoom"),
    (("pan", "pans", "panning", "tracking", "tracks", "follows", "sweeps"), "pan"),
)
MOTION_WORDS = (
    (("walks left", "walk left", "runs left", "moves left", "to the left"), "walk_left"),
    (("walks right", "walk right", "runs right", "moves right", "to the right"), "walk_right"),
    (("walk", "walks", "runs", "run", "strolls", "jogs", "rides", "skates", "surfs"), "walk_right"),
    (("jump", "jumps", "bounce", "bounces", "dances", "dance", "hops", "celebrates", "cheers"), "bounce"),
    (("fall", "falls", "trips", "tumbles", "slips", "drops"), "fall"),
)
FRAMING_WORDS = (
    (("close-up", "close up", "closeup", "extreme close", "ecu"), "close"),
    (("wide shot", "wide", "establishing", "long shot", "aerial", "far away"), "wide"),
    (("medium", "mid shot", "waist"), "medium"),
)
STILL = "still"  # a motion the renderer knows and the model's corpus does not (see the module docstring)
MODEL_MOTION_FOR_STILL = "bounce"  # its one-person layout keeps the person in the centre column


@dataclass(frozen=True)
class ShotPlan:
    """What one stretch of the video shows, in the reference model's vocabulary."""

    start: float  # seconds
    end: float  # seconds
    text: str  # the prompt text the plan was read from
    people: tuple[str, ...]  # handles on screen, at most corpus.MAX_PEOPLE, left to right
    place: str  # key of corpus.PLACES
    place_similarity: float  # MiniLM cosine of the prompt to the chosen place's nearest phrase
    colour: str  # key of corpus.COLOURS
    camera: str  # key of corpus.CAMERAS
    motion: str  # key of corpus.MOTIONS, or STILL
    framing: str  # "wide", "medium" or "close"
    is_shot: bool  # True: one of the spec's shots (it begins with a cut)

    @property
    def rendered_as(self) -> str:
        """What was drawn, as a person says it: "a beach under an orange sky"."""
        article = "an" if self.colour[0] in "aeiou" else "a"
        return f"{corpus.PLACES[self.place]} under {article} {self.colour} sky"

    def model_sentence(self) -> str:
        """The corpus sentence the reference model is conditioned on, with the people as @handles."""
        motion = MODEL_MOTION_FOR_STILL if self.motion == STILL else self.motion
        labels = corpus.SceneLabels(
            self.place, self.colour, self.camera, motion if self.people else None, len(self.people), 0
        )
        sentence = corpus.prompt_for(labels)
        for subject, handle in zip(("a person", "another person"), self.people, strict=False):
            sentence = re.sub(rf"\b{subject}\b", f"@{handle}", sentence, count=1, flags=re.IGNORECASE)
        return sentence


def _first(text: str, table: tuple[tuple[tuple[str, ...], str], ...], default: str) -> str:
    lowered = text.lower()
    for words, label in table:
        if any(re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", lowered) for word in words):
            return label
    return default


def sky_colour(text: str) -> str:
    lowered = text.lower()
    for word in re.findall(r"[a-z]+", lowered):
        word = COLOUR_ALIASES.get(word, word)
        if word in corpus.COLOURS:
            return word
    return _first(text, TIME_OF_DAY, "blue")


class Planner:
    """Maps spec text onto the model's vocabulary (module docstring). One per process is enough."""

    def __init__(self, encode_text: TextEncode) -> None:
        self.encode_text = encode_text
        self.places = [place for place, phrases in PLACE_PHRASES.items() for _ in phrases]
        phrases = [phrase for phrases in PLACE_PHRASES.values() for phrase in phrases]
        self.place_vectors = encode_text(phrases).float().numpy()  # (P, 384) unit rows

    def place(self, text: str) -> tuple[str, float]:
        """The nearest place and its cosine similarity."""
        plain = MENTION_TOKEN_RE.sub("a person", text).strip() or "a place"
        query = self.encode_text([plain]).float().numpy()[0]  # (384,)
        scores = self.place_vectors @ query  # (P,)
        best = int(np.argmax(scores))
        return self.places[best], float(scores[best])

    def plan_text(
        self, text: str, people: tuple[str, ...], start: float, end: float, *, is_shot: bool
    ) -> ShotPlan:
        place, similarity = self.place(text)
        return ShotPlan(
            start=start,
            end=end,
            text=text,
            people=people[: corpus.MAX_PEOPLE],
            place=place,
            place_similarity=similarity,
            colour=sky_colour(text),
            camera=_first(text, CAMERA_WORDS, "static"),
            motion=_first(text, MOTION_WORDS, STILL),
            framing=_first(text, FRAMING_WORDS, "medium"),
            is_shot=is_shot,
        )

    def plan(self, spec: SceneSpec) -> tuple[ShotPlan, ...]:
        """The spec's timeline as plans, in time order, covering [0, duration] (module docstring)."""
        scene_people = tuple(mentions_in(spec.text)) or spec.mentions
        plans: list[ShotPlan] = []
        cursor = 0.0

        def gap(until: float) -> None:
            if until - cursor > 1e-6:
                plans.append(self.plan_text(spec.text, scene_people, cursor, until, is_shot=False))

        for shot in spec.shots:
            gap(shot.start)
            shot_people = tuple(mentions_in(shot.text)) or scene_people
            text = f"{spec.text}. {shot.text}" if spec.text else shot.text
            # the shot's own words decide its framing, camera and motion before the scene's
            shot_plan = self.plan_text(text, shot_people, shot.start, shot.end, is_shot=True)
            own = shot.text
            shot_plan = ShotPlan(
                **{
                    **shot_plan.__dict__,
                    "framing": _first(own, FRAMING_WORDS, shot_plan.framing),
                    "camera": _first(own, CAMERA_WORDS, shot_plan.camera),
                    "motion": _first(own, MOTION_WORDS, shot_plan.motion),
                }
            )
            plans.append(shot_plan)
            cursor = shot.end
        gap(spec.duration)
        return tuple(plans)


def rendered_as(plans: tuple[ShotPlan, ...]) -> str:
    """One line for the app: each distinct scene in order ("a beach under an orange sky; the moon ...")."""
    seen: list[str] = []
    for plan in plans:
        if plan.rendered_as not in seen:
            seen.append(plan.rendered_as)
    return "; ".join(seen)
