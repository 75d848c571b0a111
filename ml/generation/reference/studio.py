"""The CPU reference engine as two stages: the project's diffusion model decides, a renderer draws.

Stage 1, decide (``ReferenceEngine``, the 2.1 M-parameter DiT): the spec is planned onto the model's
vocabulary (``plan.Planner``: place by MiniLM similarity, sky, camera, motion, framing; one plan per shot,
so a shot boundary is a cut), and for each plan with people the model denoises its 8 keyframes of 64 px
conditioned on the cameos' faces and embeddings. The renderer reads the layout from them: where each head
is in every keyframe (the cameo's reference tile matched in the frame; ``render.find_heads``). When the
model's heads cannot be found (match score under ``MIN_LAYOUT_SCORE``), the corpus layout of the planned
motion stands in and the metadata says so.

Stage 2, draw (``render``): every output frame at the spec's fps and output size, nothing blended between
frames: the place painted at output resolution and filmed by the planned camera; each person composited
from their own footage (``person.PersonFootage``: cut out of the cameo's recording, or of the photo when
no recording is known) at the head positions interpolated smoothly between keyframes, with the face
``render.face_px`` tall for the shot's framing (at least 124 px at 720p), relit toward the scene.

Head motion and blinks are the recording's own: while a person is silent, the footage plays its
closed-mouth frames in order (back and forth) at the recording's speed; while they speak, each output
frame takes the footage frame whose mouth openness best matches the speech's loudness at that frame's
time (``speech``: per-handle loudness per output frame, from the soundtrack), preferring frames near
the last one so the head does not jump. So the mouth moves with the audio, within one frame, using the
person's real mouth shapes.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Mapping

import numpy as np

from ml import registry
from ml.generation.engine import (
    CancelCheck,
    GeneratedVideo,
    GenerationCanceled,
    GenerationMetadata,
    Identity,
    ProgressCallback,
    ignore_progress,
    never_cancel,
)
from ml.generation.reference import corpus, render
from ml.generation.reference.engine import ReferenceEngine, square_face
from ml.generation.reference.person import PersonFootage, footage_from_photo, footage_from_recording
from ml.generation.reference.plan import STILL, Planner, ShotPlan, rendered_as
from ml.scene import WARDROBE_COLOURS, SceneSpec

ENGINE_NAME = "reference_dit+renderer"
# denoising steps of the layout model: the head positions it drew were identical at 4, 6 and 12 steps on
# four corpus scenes (one and two people, each motion and camera), so the renderer asks for 6 (half the time)
LAYOUT_STEPS = 6
MIN_LAYOUT_SCORE = 0.35  # mean template-match score under which the model's layout is not trusted
SPEAKING_LEVEL = 0.1  # loudness above which a person counts as speaking at a frame
CONTINUITY = 0.03  # cost per footage frame of jumping away from the last frame (in openness units)
# tops for people whose footage shows no clothing (a cut-out ending at the neck), one per person in a shot
CLOTHING = ((82, 70, 64), (58, 74, 96), (96, 64, 58), (64, 84, 66))
LAYOUT_SHARE, RENDER_SHARE = 0.35, 0.6  # progress fractions of the two stages (the rest: preparing)


def output_size(spec: SceneSpec) -> tuple[int, int]:
    """(width, height): the short side is the resolution, the long one follows the aspect, both even."""
    short = spec.resolution.short_side
    ratio_w, ratio_h = spec.aspect.ratio
    long = short * max(ratio_w, ratio_h) / min(ratio_w, ratio_h)
    long_even = 2 * int(np.ceil(long / 2 - 1e-9))
    return (long_even, short) if ratio_w > ratio_h else (short, long_even)


def footage_for(identity: Identity) -> PersonFootage:
    """The person's footage: their recording when the identity has one, else their reference photo."""
    if identity.recording is not None:
        return footage_from_recording(identity.recording)
    return footage_from_photo(identity.reference_faces[0])


def choose_frames(footage: PersonFootage, levels: np.ndarray, fps: float) -> np.ndarray:
    """(F,) footage frame index per output frame (module docstring: silent playback, speech matching)."""
    closed = footage.closed
    low = float(footage.openness.min())
    high = max(float(np.quantile(footage.openness, 0.95)), low + 1e-3)
    chosen = np.zeros(len(levels), dtype=int)
    last = int(closed[0])
    for index, level in enumerate(levels):
        if level <= SPEAKING_LEVEL:
            step = int(index / fps * footage.fps)  # the recording's own pace
            period = max(2 * len(closed) - 2, 1)
            position = step % period
            position = position if position < len(closed) else period - position
            last = int(closed[position])
        else:
            target = low + float(level) * (high - low)
            cost = np.abs(footage.openness - target) + CONTINUITY * np.abs(np.arange(len(footage)) - last)
            last = int(np.argmin(cost))
        chosen[index] = last
    return chosen


def _spread(centres: list[list[float]], face: float, width: int) -> None:
    """Push two people apart (in place) so their faces never overlap."""
    if len(centres) < 2:
        return
    gap = 2.1 * face
    (ax, _), (bx, _) = centres[0], centres[1]
    if abs(bx - ax) < gap:
        middle = (ax + bx) / 2
        middle = min(max(middle, gap / 2 + 0.5 * face), width - gap / 2 - 0.5 * face)
        left, right = (0, 1) if ax <= bx else (1, 0)
        centres[left][0], centres[right][0] = middle - gap / 2, middle + gap / 2


class ReferenceStudioEngine:
    """``VideoEngine`` that renders at output size and fps (``renders_output``), module docstring."""

    name = ENGINE_NAME
    renders_output = True  # frames come at the spec's fps and output size, mouths already moving

    def __init__(self, layout: ReferenceEngine, planner: Planner) -> None:
        self.layout = layout
        self.planner = planner
        self._lock = threading.Lock()

    @classmethod
    def from_registry(cls) -> ReferenceStudioEngine:
        def build() -> ReferenceStudioEngine:
            layout = ReferenceEngine.from_registry(steps=LAYOUT_STEPS)
            return cls(layout, Planner(layout.encode_text))

        return registry.load_once(f"engine:{ENGINE_NAME}", build)

    def plan(self, spec: SceneSpec) -> tuple[ShotPlan, ...]:
        return self.planner.plan(spec)

    def _layout(
        self, plan: ShotPlan, index: int, spec: SceneSpec, identities: Mapping[str, Identity]
    ) -> tuple[list[render.HeadTrack], str, int]:
        """Head tracks for a plan's people, where they came from ("model"/"corpus"), denoising steps run."""
        if not plan.people:
            return [], "none", 0
        frames = corpus.FRAMES
        times = plan.start + (plan.end - plan.start) * np.arange(frames) / (frames - 1)
        model_spec = SceneSpec(
            text=plan.model_sentence(), duration=spec.duration, seed=(spec.seed + index) % 2**31
        )
        video = self.layout.generate(model_spec, {h: identities[h] for h in plan.people})
        assert video.frames is not None
        tiles = [square_face(identities[h].reference_faces[0], corpus.FACE) for h in plan.people]
        tracks = render.find_heads(video.frames, tiles, times)
        motion = plan.motion if plan.motion in corpus.MOTIONS else "bounce"
        source = "model"
        if min(track.score for track in tracks) < MIN_LAYOUT_SCORE:
            tracks = render.corpus_tracks(motion, len(plan.people), times)
            source = "corpus"
        if plan.motion in ("walk_left", "walk_right"):
            # the model draws heads on its 8-pixel patch grid: a walk comes out in steps. People walk at an
            # even pace, so the walk is the straight line through the keyframes' columns, at their height
            tracks = [
                render.HeadTrack(
                    t.times,
                    np.polyval(np.polyfit(t.times, t.u, 1), t.times),
                    np.full_like(t.v, float(np.median(t.v))),
                    t.score,
                )
                for t in tracks
            ]
        if plan.motion == STILL:  # stand where the model put them, at the standing height
            tracks = [
                render.HeadTrack(
                    t.times, np.full_like(t.u, float(np.median(t.u))), np.full_like(t.v, 0.75), t.score
                )
                for t in tracks
            ]
        return tracks, source, video.metadata.steps

    def generate(
        self,
        spec: SceneSpec,
        identities: Mapping[str, Identity],
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
        *,
        speech: Mapping[str, np.ndarray] | None = None,
    ) -> GeneratedVideo:
        """Render ``spec``: see the module docstring. ``speech``: handle -> (spec.frame_count,) loudness in
        [0, 1] per output frame (absent: silent)."""
        report = progress or ignore_progress
        cancel = should_cancel or never_cancel
        self.layout.check_inputs(spec, identities)
        if cancel():
            raise GenerationCanceled(0, self.layout.sampler.steps)
        report(0.0, "preparing")
        width, height = output_size(spec)
        frame_count = spec.frame_count
        with self._lock:
            plans = self.plan(spec)
            footage = {handle: footage_for(identities[handle]) for handle in spec.mentions}
            # an owner's wardrobe colour (SceneSpec.appearance, set from their guidance, never by the prompt)
            # dresses that one person's drawn shoulders
            wardrobe = {look.handle: WARDROBE_COLOURS[look.colours[0]] for look in spec.appearance}
            # stage 1: the model's layout per plan
            layouts = []
            steps = 0
            for index, plan in enumerate(plans):
                tracks, source, run = self._layout(plan, index, spec, identities)
                steps = max(steps, run)
                layouts.append((tracks, source))
                report(LAYOUT_SHARE * (index + 1) / len(plans), "layout")
                if cancel():
                    raise GenerationCanceled(steps, steps)
            # stage 2: draw every frame
            silent = np.zeros(frame_count, np.float32)
            chosen = {
                handle: choose_frames(footage[handle], (speech or {}).get(handle, silent), spec.fps)
                for handle in spec.mentions
            }
            canvases = []
            for index, plan in enumerate(plans):
                canvas_w, canvas_h = render.canvas_size(width, height)
                seed = (
                    spec.seed * 7919 + zlib.crc32(plan.place.encode()) % 1000 + index * (plan.is_shot)
                ) % 2**32
                canvas = render.paint_place(plan.place, plan.colour, canvas_w, canvas_h, seed)
                canvases.append((canvas, render.palette_gain(canvas)))
            frames = np.empty((frame_count, height, width, 3), np.uint8)
            still_views: dict[int, np.ndarray] = {}
            face_heights = []
            for number in range(frame_count):
                time = number / spec.fps
                index = next((i for i, p in enumerate(plans) if p.start <= time < p.end), len(plans) - 1)
                plan = plans[index]
                canvas, gain = canvases[index]
                progress_in_shot = (time - plan.start) / max(plan.end - plan.start, 1e-6)
                if plan.camera == "static":  # the same view all shot long: drawn once
                    if index not in still_views:
                        still_views[index] = render.camera_view(canvas, "static", 0.0, width, height)
                    frame = still_views[index].copy()
                else:
                    frame = render.camera_view(canvas, plan.camera, progress_in_shot, width, height)
                tracks, _ = layouts[index]
                face = render.face_px(plan.framing, width, height, len(plan.people))
                centres = []
                for track in tracks:
                    u, v = track.at(time)
                    if plan.framing == "close":
                        u, v = 0.5 + (u - 0.5) * 0.3, 0.55
                    margin = 0.9 * face
                    x = margin + float(np.clip(u, 0, 1)) * max(width - 2 * margin, 0)
                    y = height * (0.2 + 0.32 * float(np.clip(v, 0, 1)))
                    centres.append([x, max(y, 0.6 * face)])
                _spread(centres, face, width)
                for handle, centre in zip(plan.people, centres, strict=True):
                    person = footage[handle]
                    clothing = wardrobe.get(handle) or person.clothing or CLOTHING[
                        spec.mentions.index(handle) % len(CLOTHING)
                    ]
                    pick = int(chosen[handle][number])
                    render.composite_person(
                        frame, person.frames[pick], person.alphas[pick], person.face_boxes[pick],
                        (centre[0], centre[1]), face, gain, clothing,
                    )  # fmt: skip
                if plan.people:
                    face_heights.append(face)
                frames[number] = frame
                if number % 24 == 23:
                    report(LAYOUT_SHARE + RENDER_SHARE * (number + 1) / frame_count, "rendering")
                    if cancel():
                        raise GenerationCanceled(steps, steps)
        report(1.0, "done")
        sources = {source for _, source in layouts if source != "none"}
        composited = tuple(
            f"@{handle}: cut out of the cameo's {footage[handle].source} (GrabCut matte), relit"
            for handle in spec.mentions
        )
        return GeneratedVideo(
            frames=frames,
            mp4_path=None,
            poster=frames[frame_count // 2].copy(),
            metadata=GenerationMetadata(
                engine=self.name,
                checkpoint_sha256=self.layout.checkpoint_sha256,
                native_resolution=(width, height),
                steps=steps,
                seed=spec.seed,
                fps=float(spec.fps),
                conditioned_on=spec.mentions,
                rendered_as=rendered_as(plans),
                generated=(
                    f"layout and motion: {ENGINE_NAME.split('+')[0]} keyframes ({'/'.join(sorted(sources)) or 'no people'})",
                    "backgrounds: painted procedurally at output resolution",
                ),
                composited=composited,
                shots=tuple((plan.start, plan.end, plan.framing, plan.rendered_as) for plan in plans),
            ),
        )


__all__ = ["ReferenceStudioEngine", "choose_frames", "footage_for", "output_size"]
