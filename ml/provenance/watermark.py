"""The visible watermark: "AI · <product>" drifting slowly around the frame, on every frame.

Moving so it cannot be cropped or blurred out of one fixed corner; drawn white with a dark outline at ~80 %
opacity so it reads on any background. Its text height follows the frame's short side (4.5 %, at least
11 px, so a 256 px thumbnail still reads it); its path is a Lissajous curve inside a margin, a function of
time only, so the same video always carries the same marks at the same places.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

PRODUCT_NAME = "Sora Social"
WATERMARK_TEXT = f"AI · {PRODUCT_NAME}"


@dataclass(frozen=True)
class WatermarkStyle:
    text: str = WATERMARK_TEXT
    height_fraction: float = 0.045  # text cap height over the frame's short side
    min_height_px: int = 14  # legible floor for small frames (glyphs ~11 px tall with the outline)
    opacity: float = 0.8
    period_s: tuple[float, float] = (23.0, 17.0)  # x and y periods of the drift (incommensurate: no loop)
    margin_fraction: float = 0.04  # kept clear of the frame's edges


@functools.lru_cache(maxsize=8)
def render_mark(text: str, text_px: int, opacity: float) -> np.ndarray:
    """The mark as (h, w, 4) float32 RGBA in [0, 1], white text with a dark outline."""
    font = ImageFont.load_default(size=text_px)  # bundled font: no system font needed, same everywhere
    stroke = max(1, text_px // 10)
    left, top, right, bottom = (int(v) for v in font.getbbox(text, stroke_width=stroke))
    canvas = Image.new("RGBA", (right - left + 2, bottom - top + 2), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text(
        (1 - left, 1 - top),
        text,
        font=font,
        fill=(255, 255, 255, 255),
        stroke_width=stroke,
        stroke_fill=(0, 0, 0, 255),
    )
    rgba = np.asarray(canvas, dtype=np.float32) / 255.0
    rgba[..., 3] *= opacity
    return rgba


def position(
    time_s: float, frame_size: tuple[int, int], mark_size: tuple[int, int], style: WatermarkStyle
) -> tuple[int, int]:
    """Top-left (x, y) of the mark at ``time_s`` in a (width, height) frame for a (w, h) mark."""
    width, height = frame_size
    mark_w, mark_h = mark_size
    margin = int(style.margin_fraction * min(width, height))
    span_x, span_y = max(width - mark_w - 2 * margin, 0), max(height - mark_h - 2 * margin, 0)
    u = 0.5 + 0.5 * math.sin(2 * math.pi * time_s / style.period_s[0] + 0.3)
    v = 0.5 + 0.5 * math.sin(2 * math.pi * time_s / style.period_s[1] + 1.9)
    return margin + round(u * span_x), margin + round(v * span_y)


def mark_size_px(frame_size: tuple[int, int], style: WatermarkStyle) -> int:
    return max(style.min_height_px, round(style.height_fraction * min(frame_size)))


def apply_watermark(frames: np.ndarray, fps: float, style: WatermarkStyle = WatermarkStyle()) -> np.ndarray:
    """(F, H, W, 3) uint8 frames with the moving mark on each, frame i at time i / fps (in place)."""
    if frames.ndim != 4 or frames.shape[3] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (F, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    _, height, width, _ = frames.shape
    mark = render_mark(style.text, mark_size_px((width, height), style), style.opacity)
    if mark.shape[1] > width:  # a frame narrower than the text: shrink the text to fit
        mark = render_mark(
            style.text,
            max(6, mark_size_px((width, height), style) * width // mark.shape[1] - 1),
            style.opacity,
        )
    mark_h, mark_w = mark.shape[:2]
    alpha, colour = mark[..., 3:], mark[..., :3] * 255.0  # (h, w, 1), (h, w, 3)
    for index in range(len(frames)):
        x, y = position(index / fps, (width, height), (mark_w, mark_h), style)
        h, w = min(mark_h, height - y), min(mark_w, width - x)
        region = frames[index, y : y + h, x : x + w].astype(np.float32)
        blended = region * (1 - alpha[:h, :w]) + colour[:h, :w] * alpha[:h, :w]
        frames[index, y : y + h, x : x + w] = np.round(blended).astype(np.uint8)
    return frames
