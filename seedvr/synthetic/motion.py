"""Camera motion over a still: pan, zoom and slight rotation with sub-pixel warps, so flow is known and smooth."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from seedvr.errors import ConfigError, InputError
from seedvr.synthetic.sources import load_source


@dataclass(frozen=True)
class CameraMotion:
    """Per-frame camera steps, in output pixels, zoom ratio and degrees. Fractional values are the point:
    they give sub-pixel motion, which is what makes restoration and flow estimation non-trivial."""

    pan_x: float = 0.0
    pan_y: float = 0.0
    zoom: float = 0.0
    rotate_deg: float = 0.0

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.pan_x, self.pan_y, self.zoom, self.rotate_deg)):
            raise ConfigError(f"CameraMotion values must be finite, got {self}")
        if not -0.2 < self.zoom < 0.2:
            raise ConfigError(f"CameraMotion.zoom is a per-frame ratio in (-0.2, 0.2), got {self.zoom}")


MOTIONS: dict[str, CameraMotion] = {
    "static": CameraMotion(),
    "pan": CameraMotion(pan_x=1.37, pan_y=0.41),
    "zoom": CameraMotion(zoom=0.006, pan_x=0.2),
    "rotate": CameraMotion(rotate_deg=0.15, pan_x=0.55, pan_y=-0.3),
    "handheld": CameraMotion(pan_x=0.8, pan_y=0.25, zoom=0.002, rotate_deg=0.08),
}


def _motion(motion: str | CameraMotion) -> CameraMotion:
    if isinstance(motion, CameraMotion):
        return motion
    if motion not in MOTIONS:
        raise ConfigError(f"unknown motion {motion!r}; use one of {sorted(MOTIONS)} or a CameraMotion")
    return MOTIONS[motion]


def check_clip_shape(frames: int, size: tuple[int, int]) -> tuple[int, int]:
    """(H, W) of a requested synthetic clip, refusing what no generator can draw: no frames, under 8x8.

    Shared by every clip generator here so that they accept and word their refusals alike.
    """
    if frames < 1:
        raise InputError(f"frames must be >= 1, got {frames}")
    h, w = size
    if h < 8 or w < 8:
        raise InputError(f"size must be at least 8x8 (H, W), got {size}")
    return h, w


def make_clip(
    source: str | np.ndarray,
    frames: int,
    size: tuple[int, int],
    motion: str | CameraMotion = "pan",
    seed: int = 0,
) -> np.ndarray:
    """Film `frames` frames of size (H, W) over `source`; returns (T, H, W, 3) uint8, identical for a seed.

    The seed picks the start point and jitters the motion by +-20 %, so several clips from one still differ.
    The still is first resized (area filter when shrinking) to just cover the camera path at 1:1 scale, so
    the warps interpolate rather than alias and the view shows most of the photo.
    """
    h, w = check_clip_shape(frames, size)
    m = _motion(motion)
    rng = np.random.default_rng(seed)
    jitter = rng.uniform(0.8, 1.2, 4)
    step = np.array([m.pan_x * jitter[0], m.pan_y * jitter[1]])
    zoom, rot = m.zoom * jitter[2], m.rotate_deg * jitter[3]
    img = load_source(source)

    # The view spans `frames` steps of pan and zoom; size the still so the whole path stays inside it.
    travel = np.abs(step) * (frames - 1)
    max_zoom_out = max(1.0, (1 + abs(zoom)) ** (frames - 1)) if zoom < 0 else 1.0
    rot_margin = 1 + abs(math.radians(rot * (frames - 1))) * 0.6
    need_w = (w * max_zoom_out * rot_margin + travel[0]) * 1.05
    need_h = (h * max_zoom_out * rot_margin + travel[1]) * 1.05
    scale = max(need_w / img.shape[1], need_h / img.shape[0])
    new_w, new_h = int(math.ceil(img.shape[1] * scale)), int(math.ceil(img.shape[0] * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    img = cv2.resize(img, (new_w, new_h), interpolation=interp)

    # Start so that the path ends inside the image: centre offset against the direction of travel.
    free = np.array([new_w, new_h], float) - np.array([need_w, need_h]) / 1.05
    start = np.array([new_w, new_h], float) / 2 - step * (frames - 1) / 2
    start += (rng.random(2) - 0.5) * np.maximum(free - travel, 0) * 0.5

    out = np.empty((frames, h, w, 3), np.uint8)
    for t in range(frames):
        cx, cy = start + step * t
        s = (1 + zoom) ** t
        # Inverse map: output pixel (x, y) -> source point; rotation and zoom about the view centre.
        a = math.radians(rot * t)
        cos_a, sin_a = math.cos(a) / s, math.sin(a) / s
        mat = np.array(
            [
                [cos_a, -sin_a, cx - cos_a * (w - 1) / 2 + sin_a * (h - 1) / 2],
                [sin_a, cos_a, cy - sin_a * (w - 1) / 2 - cos_a * (h - 1) / 2],
            ]
        )
        out[t] = cv2.warpAffine(
            img, mat, (w, h), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT_101
        )
    return out
