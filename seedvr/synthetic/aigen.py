"""An "AI-generated-looking" clip: smooth gradients and flowing noise fields with temporal shimmer.

Generated video often has over-smooth surfaces, drifting colour fields and fine texture that flickers from
frame to frame; this scene has all three, so flicker scores and the restorer's temporal behaviour have
something to act on.
"""

from __future__ import annotations

import cv2
import numpy as np

from seedvr.synthetic.motion import check_clip_shape


def _smooth_field(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    small = rng.standard_normal((cells, max(2, cells * w // h))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def make_ai_clip(frames: int, size: tuple[int, int], seed: int = 0, shimmer: float = 6.0) -> np.ndarray:
    """(T, H, W, 3) uint8: a drifting gradient scene with soft blobs and `shimmer` (0-255 units) flicker."""
    h, w = check_clip_shape(frames, size)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    palette = rng.uniform(40, 220, (2, 3)).astype(np.float32)
    low = [_smooth_field(rng, 2 * h, 2 * w, 3) for _ in range(3)]
    detail = _smooth_field(rng, h, w, max(4, h // 6))
    # Soft, saturated "objects" drifting across the scene, each its own colour.
    blobs = [(rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.1, 0.25) * min(h, w), rng.uniform(-1, 1, 2),
              rng.permutation(np.array([rng.uniform(200, 255), rng.uniform(90, 160), rng.uniform(0, 50)],
                                       np.float32)))
             for _ in range(4)]
    out = np.empty((frames, h, w, 3), np.uint8)
    for t in range(frames):
        phase = t / max(1, frames - 1)
        # Colour fields drift slowly (a camera-less "dreamy" move): crop a moving window of a larger field.
        oy, ox = int(phase * h * 0.5), int(phase * w * 0.5)
        fields = [f[oy:oy + h, ox:ox + w] for f in low]
        img = np.zeros((h, w, 3), np.float32)
        for c in range(3):
            img[..., c] = palette[0, c] + (palette[1, c] - palette[0, c]) * (xx / w) + fields[c] * 30
        for bx, by, br, vel, colour in blobs:
            cx, cy = bx + vel[0] * t * 0.8, by + vel[1] * t * 0.5
            mask = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * br**2))
            img += mask[..., None] * (colour - img) * 0.85
        # Fine texture whose amplitude and sign wobble per frame: the shimmer of generated video.
        wobble = np.sin(2 * np.pi * (0.37 * t + rng.random())) * shimmer
        img += (detail * wobble)[..., None]
        img += rng.standard_normal((h, w, 1)).astype(np.float32) * (shimmer * 0.25)
        out[t] = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return out
