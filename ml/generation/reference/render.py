"""The renderer: every output frame drawn at output resolution from a shot's plan, the model's layout and
the cameos' own footage. No frame is a blend of two others; nothing is upscaled from the model's 64 px.

* ``paint_place``: the place under its sky, painted procedurally at the canvas size (the output plus room
  for the camera to move), deterministic in its seed;
* ``camera_view``: the part of the canvas the camera sees at a moment (still, a pan left to right, a
  zoom in), eased so the move starts and ends gently;
* ``HeadTrack``: where the model put each head in its 8 keyframes (found by matching the cameo's reference
  tile in each 64 px frame), interpolated smoothly (monotone cubic) to any time;
* ``composite_person``: one person's footage frame, scaled so the face is ``face_px`` tall, placed with its
  face centre at a point, relit toward the scene's palette, blended through its matte; the body under the
  footage's bottom edge continues to the frame's bottom edge.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.interpolate import PchipInterpolator

from ml.generation.reference import corpus

CANVAS_MARGIN = (1.4, 1.12)  # canvas size over the output size (width, height): room to pan and zoom
ZOOM_END = 1.3  # a zoom in ends this much closer
FACE_SHARE = {"wide": 0.19, "medium": 0.27, "close": 0.5}  # face height over the output's short side
MIN_FACE_PX_AT_720 = 124  # the face is never smaller than this on a 720-pixel short side
FADE_SHARE = 0.12  # of the footage's height: its bottom edge fades out over this much
RELIGHT = 0.22  # how far the person's colours move toward the scene's palette (0: untouched)


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    """(H, W) float32 value noise with features about ``cell`` pixels across, unit-ish amplitude."""
    small = rng.standard_normal((max(2, height // cell + 2), max(2, width // cell + 2))).astype(np.float32)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)


def _sky(colour: str, height: int, width: int, horizon: float) -> np.ndarray:
    sky = np.array(corpus.COLOURS[colour], np.float32)
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]  # (H, 1, 1)
    towards = np.clip(rows / max(horizon, 1e-3), 0, 1)
    top = sky * 0.75
    low = sky * 0.55 + np.array([255, 240, 220], np.float32) * 0.45  # hazier near the horizon
    return np.broadcast_to(top * (1 - towards) + low * towards, (height, width, 3)).copy()


def _sun(image: np.ndarray, cx: float, cy: float, radius: float, colour: tuple[int, int, int]) -> None:
    height, width = image.shape[:2]
    yy, xx = np.ogrid[0:height, 0:width]
    distance = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2, dtype=np.float32)
    glow = np.clip(1.0 - distance / (radius * 4), 0, 1)[..., None] ** 2 * 0.5
    disc = np.clip(radius - distance + 1, 0, 1)[..., None]
    image[:] = image * (1 - glow) + np.array(colour, np.float32) * glow
    image[:] = image * (1 - disc) + np.array(colour, np.float32) * disc


def paint_place(place: str, colour: str, width: int, height: int, seed: int) -> np.ndarray:
    """(height, width, 3) uint8 RGB picture of ``place`` under a ``colour`` sky (see corpus.PLACES)."""
    rng = np.random.default_rng(seed)
    h, w = height, width
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    unit = min(w, h) / 720.0  # sizes below are for a 720-pixel short side
    if place == "beach":
        horizon = 0.46 * h
        image = _sky(colour, h, w, 0.46)
        if colour in ("orange", "red", "yellow", "purple"):
            _sun(image, 0.68 * w, horizon - 0.06 * h, 38 * unit, (255, 225, 150))
        sea = (yy >= horizon) & (yy < 0.64 * h)
        depth = np.clip((yy - horizon) / (0.18 * h), 0, 1)[..., None]
        water = (
            np.array([30, 70, 130], np.float32) * (1 - depth) + np.array([45, 120, 170], np.float32) * depth
        )
        ripple = np.sin(xx / (23 * unit) + 3 * np.sin(yy / (7 * unit))) * np.clip(depth[..., 0], 0.2, 1)
        water = water + (ripple[..., None] > 0.85) * 60.0
        sky_tint = np.array(corpus.COLOURS[colour], np.float32) * 0.2
        image[sea] = (water + sky_tint)[sea]
        shore = 0.64 * h + 6 * unit * np.sin(xx[0] / (60 * unit) + rng.uniform(0, 6))  # (W,)
        foam = (yy >= shore[None, :] - 5 * unit) & (yy < shore[None, :] + 3 * unit)
        image[foam] = (235, 240, 240)
        sand = yy >= shore[None, :] + 3 * unit
        grain = _smooth_noise(rng, h, w, int(6 * unit) + 1)[..., None] * 7
        image = np.where(sand[..., None], np.array([226, 200, 150], np.float32) + grain, image)
    elif place == "moon":
        horizon = 0.58 * h
        image = _sky(colour, h, w, 0.58) * 0.22
        stars = (rng.random((h, w)) < 0.0015) & (yy < horizon)
        image[stars] = 255
        image = cv2.GaussianBlur(image, (0, 0), 0.6 * unit)
        _sun(image, 0.22 * w, 0.16 * h, 34 * unit, (90, 140, 230))  # the Earth
        ground = yy >= horizon + 8 * unit * np.sin(xx / (110 * unit))
        dust = _smooth_noise(rng, h, w, int(10 * unit) + 1)[..., None] * 10
        image = np.where(ground[..., None], np.array([150, 150, 152], np.float32) + dust, image)
        for _ in range(14):
            cy = rng.uniform(horizon + 20 * unit, h)
            cx, r = rng.uniform(0, w), rng.uniform(15, 55) * unit * (0.5 + (cy - horizon) / (h - horizon))
            ellipse = ((xx - cx) / 1.8) ** 2 + (yy - cy) ** 2
            rim = (ellipse < r**2) & (ellipse > (0.8 * r) ** 2) & (yy < cy)
            image[ellipse < (0.85 * r) ** 2] = (105, 105, 108)
            image[rim] = (185, 185, 188)
    elif place == "forest":
        horizon = 0.55 * h
        image = _sky(colour, h, w, 0.5)
        hills = horizon - 40 * unit * (1 + np.sin(xx[0] / (150 * unit) + rng.uniform(0, 6)))
        image[yy >= hills[None, :]] = (70, 120, 80)
        grass = yy >= horizon
        blades = _smooth_noise(rng, h, w, int(4 * unit) + 1)[..., None] * 12
        image = np.where(grass[..., None], np.array([60, 125, 55], np.float32) + blades, image)
        for x in np.sort(rng.uniform(0, w, 14)):
            base = horizon + rng.uniform(-10, 60) * unit
            trunk_w = rng.uniform(14, 26) * unit
            tree_h = rng.uniform(0.35, 0.55) * h
            cv2.rectangle(
                image, (int(x - trunk_w / 2), int(base - tree_h)), (int(x + trunk_w / 2), int(base)),
                (95, 65, 40), -1,
            )  # fmt: skip
            for _ in range(5):
                r = rng.uniform(45, 85) * unit
                cx, cy = x + rng.uniform(-40, 40) * unit, base - tree_h + rng.uniform(-20, 60) * unit
                shade = rng.uniform(0.8, 1.15)
                cv2.circle(
                    image, (int(cx), int(cy)), int(r), (30 * shade, 95 * shade, 40 * shade), -1, cv2.LINE_AA
                )
    elif place == "city":
        street = 0.8 * h
        image = _sky(colour, h, w, 0.5)
        x = -rng.uniform(0, 40) * unit
        while x < w:
            bw = rng.uniform(110, 200) * unit
            top = rng.uniform(0.12, 0.45) * h
            shade = rng.uniform(70, 125)
            image[int(top) : int(street), max(int(x), 0) : max(int(x + bw), 0)] = (shade, shade, shade * 1.05)
            lit = rng.random((200, 200)) < 0.45
            for row, wy in enumerate(np.arange(top + 18 * unit, street - 30 * unit, 34 * unit)):
                for col, wx in enumerate(np.arange(x + 14 * unit, x + bw - 22 * unit, 28 * unit)):
                    colour_window = (245, 215, 120) if lit[row % 200, col % 200] else (50, 55, 70)
                    cv2.rectangle(
                        image,
                        (int(wx), int(wy)),
                        (int(wx + 14 * unit), int(wy + 18 * unit)),
                        colour_window,
                        -1,
                    )
            x += bw + rng.uniform(6, 20) * unit
        image[int(street) :] = (55, 55, 60)
        image[int(street) : int(street + 8 * unit)] = (140, 140, 140)  # kerb
        lane = (yy > 0.9 * h) & (yy < 0.9 * h + 6 * unit) & ((xx // (80 * unit)) % 2 == 0)
        image[lane] = (230, 220, 150)
    elif place == "snow":
        image = _sky(colour, h, w, 0.5)
        far = 0.45 * h + 30 * unit * np.sin(xx[0] / (170 * unit) + rng.uniform(0, 6))
        near = 0.56 * h + 40 * unit * np.sin(xx[0] / (240 * unit) + rng.uniform(0, 6))
        image[yy >= far[None, :]] = (205, 215, 235)
        shade = np.clip((yy - near[None, :]) / (0.4 * h), 0, 1)[..., None]
        snow = np.array([245, 248, 252], np.float32) * (1 - 0.12 * shade)
        image = np.where((yy >= near[None, :])[..., None], snow, image)
        flakes = rng.random((h, w)) < 0.002
        image[flakes] = 255
        image = cv2.GaussianBlur(image, (0, 0), 0.7 * unit)
    elif place == "desert":
        image = _sky(colour, h, w, 0.55)
        _sun(image, 0.75 * w, 0.18 * h, 40 * unit, (255, 240, 200))
        dune_far = 0.52 * h + 25 * unit * np.sin(xx[0] / (200 * unit) + rng.uniform(0, 6))
        dune_near = 0.62 * h + 45 * unit * np.sin(xx[0] / (280 * unit) + rng.uniform(0, 6))
        image[yy >= dune_far[None, :]] = (200, 140, 75)
        ripple = np.sin((yy + 12 * np.sin(xx / (90 * unit))) / (9 * unit))[..., None] * 6
        sand = np.array([222, 165, 90], np.float32) + ripple
        image = np.where((yy >= dune_near[None, :])[..., None], sand, image)
    else:
        raise ValueError(f"unknown place {place!r}; known: {sorted(corpus.PLACES)}")
    return np.clip(image, 0, 255).astype(np.uint8)


def canvas_size(width: int, height: int) -> tuple[int, int]:
    return math.ceil(width * CANVAS_MARGIN[0]), math.ceil(height * CANVAS_MARGIN[1])


def _ease(progress: float) -> float:
    return 0.5 - 0.5 * math.cos(math.pi * min(max(progress, 0.0), 1.0))


def camera_view(canvas: np.ndarray, camera: str, progress: float, width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8: what the camera sees of ``canvas`` at ``progress`` (0 to 1) of the shot."""
    canvas_h, canvas_w = canvas.shape[:2]
    eased = _ease(progress)
    zoom = 1.0
    left, top = (canvas_w - width) / 2, (canvas_h - height) / 2
    if camera == "pan":  # the view slides right: the world moves left
        left = eased * (canvas_w - width)
    elif camera == "zoom":
        zoom = 1.0 + (ZOOM_END - 1.0) * eased
    elif camera != "static":
        raise ValueError(f"unknown camera {camera!r}; known: {sorted(corpus.CAMERAS)}")
    # output pixel (x, y) shows canvas pixel (left + centre offset + (x - w/2) / zoom, ...)
    centre_x, centre_y = left + width / 2, top + height / 2
    matrix = np.array(
        [[1 / zoom, 0, centre_x - width / (2 * zoom)], [0, 1 / zoom, centre_y - height / (2 * zoom)]],
        np.float64,
    )
    return cv2.warpAffine(
        canvas, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )  # fmt: skip


def face_px(framing: str, width: int, height: int, people: int = 1) -> float:
    """Face height in output pixels for a framing (never under MIN_FACE_PX_AT_720 at 720p); two people
    side by side in a portrait frame stand a little further back."""
    short = min(width, height)
    share = FACE_SHARE[framing] * (0.8 if people > 1 and width < height else 1.0)
    return max(share * short, MIN_FACE_PX_AT_720 * short / 720)


@dataclass(frozen=True)
class HeadTrack:
    """Where the model put one head over a shot: keyframe times and (u, v) in [0, 1] of the free room."""

    times: np.ndarray  # (K,) seconds, increasing
    u: np.ndarray  # (K,) 0: head at the left edge, 1: at the right
    v: np.ndarray  # (K,) 0: at the top, 1: at the bottom
    score: float  # mean template-match score of the keyframes (1: the face tile found exactly)

    def at(self, time: float) -> tuple[float, float]:
        t = float(np.clip(time, self.times[0], self.times[-1]))
        if len(self.times) < 2:
            return float(self.u[0]), float(self.v[0])
        return float(PchipInterpolator(self.times, self.u)(t)), float(
            PchipInterpolator(self.times, self.v)(t)
        )


def find_heads(keyframes: np.ndarray, tiles: list[np.ndarray], times: np.ndarray) -> list[HeadTrack]:
    """One track per reference tile: the best match of the tile in each (K, S, S, 3) keyframe."""
    size = keyframes.shape[1]
    tracks = []
    for tile in tiles:
        span = max(size - tile.shape[0], 1)
        us, vs, scores = [], [], []
        for frame in keyframes:
            result = cv2.matchTemplate(
                frame.astype(np.float32), tile.astype(np.float32), cv2.TM_CCOEFF_NORMED
            )
            _, score, _, (x, y) = cv2.minMaxLoc(result)
            us.append(x / span)
            vs.append(y / span)
            scores.append(score)
        tracks.append(HeadTrack(times, np.array(us), np.array(vs), float(np.mean(scores))))
    return tracks


def corpus_tracks(motion: str, people: int, times: np.ndarray) -> list[HeadTrack]:
    """The corpus's layout for ``motion`` (used when the model's heads cannot be found)."""
    positions = corpus.head_positions(motion, people) / (corpus.SIZE - corpus.FACE)  # (F, P, 2)
    return [HeadTrack(times, positions[:, p, 0], positions[:, p, 1], 0.0) for p in range(people)]


def palette_gain(view: np.ndarray) -> np.ndarray:
    """(3,) per-channel gain that moves a person's colours ``RELIGHT`` of the way toward ``view``'s tint."""
    mean = view.reshape(-1, 3).mean(axis=0).astype(np.float32) + 1.0
    tint = mean / mean.mean()
    brightness = float(np.clip(mean.mean() / 128.0, 0.75, 1.15))
    return (1.0 + RELIGHT * (tint * brightness - 1.0)).astype(np.float32)


@functools.lru_cache(maxsize=16)
def _torso(face_height: int, rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(alpha (rows, W), shade (rows, W, 1)) float32 of shoulders and chest for a face ``face_height`` px
    tall, centred horizontally, the top row 0.35 face heights above the shoulder line."""
    half = 0.95 * face_height
    width = int(4 * half) | 1
    yy, xx = np.mgrid[0:rows, 0:width].astype(np.float32)
    dx = np.abs(xx - width // 2)
    # a rounded shoulder line, widening slowly below it
    shoulder = 0.35 * face_height
    reach = half * np.sqrt(np.clip(yy / shoulder, 0, 1)) + np.clip(yy - shoulder, 0, None) * 0.05
    alpha = np.clip((reach - dx) / 2.0, 0, 1)  # 2-pixel soft edge
    shade = (1.0 - 0.25 * (dx / (half + 1)) ** 2)[..., None]
    return alpha.astype(np.float32), shade.astype(np.float32)


def draw_torso(out: np.ndarray, centre: tuple[float, float], face_height: float, colour: np.ndarray) -> None:
    """Shoulders and chest under a face centred at ``centre``, to the frame's bottom, softly shaded."""
    height, width = out.shape[:2]
    top = round(centre[1] + 0.65 * face_height)  # the shoulder line is a face height under the centre
    if top >= height:
        return
    alpha, shade = _torso(round(face_height), height)
    left = round(centre[0]) - alpha.shape[1] // 2
    x0, x1 = max(left, 0), min(left + alpha.shape[1], width)
    y0 = max(top, 0)
    if x1 - x0 < 2:
        return
    rows = height - y0
    weight = alpha[y0 - top : y0 - top + rows, x0 - left : x1 - left, None]
    tone = colour * shade[y0 - top : y0 - top + rows, x0 - left : x1 - left]
    region = out[y0:height, x0:x1].astype(np.float32)
    region += (tone - region) * weight
    out[y0:height, x0:x1] = np.clip(region, 0, 255).astype(np.uint8)


def composite_person(
    out: np.ndarray,
    frame: np.ndarray,
    alpha: np.ndarray,
    face_box: np.ndarray,
    centre: tuple[float, float],
    face_height: float,
    gain: np.ndarray,
    clothing: tuple[int, int, int] | None = None,
) -> tuple[int, int, int, int]:
    """Draw one person into ``out`` (in place); returns the (left, top, right, bottom) drawn. With
    ``clothing``, shoulders in that colour are drawn first, to the frame's bottom, under the footage (a
    selfie's frame ends at the chest, a cut-out often at the neck); the footage fades out at its bottom."""
    height, width = out.shape[:2]
    if clothing is not None:
        draw_torso(out, centre, face_height, np.array(clothing, np.float32) * gain)
    left, top, right, bottom = (float(v) for v in face_box)
    scale = face_height / max(bottom - top, 1.0)
    face_cx, face_cy = (left + right) / 2, (top + bottom) / 2
    offset_x, offset_y = centre[0] - scale * face_cx, centre[1] - scale * face_cy
    frame_h, frame_w = frame.shape[:2]
    x0, x1 = max(math.floor(offset_x), 0), min(math.ceil(offset_x + scale * frame_w), width)
    y0, y1 = max(math.floor(offset_y), 0), min(math.ceil(offset_y + scale * frame_h), height)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return (0, 0, 0, 0)
    matrix = np.array([[scale, 0, offset_x - x0], [0, scale, offset_y - y0]], np.float64)
    size = (x1 - x0, y1 - y0)
    sprite = cv2.warpAffine(frame, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    matte = cv2.warpAffine(alpha, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    # the footage's bottom edge fades out over the torso drawn under it (no hard line across the chest)
    rows = np.arange(y0, y1, dtype=np.float32)
    footage_bottom = offset_y + scale * frame_h
    matte *= np.clip((footage_bottom - rows) / (FADE_SHARE * scale * frame_h), 0, 1)[:, None]
    region = out[y0:y1, x0:x1].astype(np.float32)
    weight = matte[..., None]
    region += (sprite.astype(np.float32) * gain - region) * weight
    out[y0:y1, x0:x1] = np.clip(region, 0, 255).astype(np.uint8)
    return (x0, y0, x1, y1)
