"""Active picture: letterbox (top/bottom) and pillarbox (left/right) bars found over sampled frames.

A row or column is bar when it stays black in every sampled frame: its brightest pixel over the whole
video is near black and it is flat. Sampling across the whole video is what keeps a dark scene from being
taken for a bar: some other frame lights those rows. Bars are only reported when the picture next to them
shows content in enough frames (a video that is dark throughout has no measurable bars), are made
symmetric when they nearly are, and are rounded inwards to even pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# 8-bit luma: bars are encoded at 16 (limited range) or 0; compression noise stays within a few codes.
BLACK_MAX = 28.0
FLAT_STD = 3.0
# The rows/columns next to a bar must be brighter than this in this share of the sampled frames.
CONTENT_MIN = 40.0
CONTENT_SHARE = 0.2
# Bars thinner than this share of the side are overscan or a soft edge: ignored.
MIN_BAR_SHARE = 0.02
SYMMETRY_PX = 4


@dataclass(frozen=True)
class ActiveArea:
    x: int
    y: int
    width: int
    height: int
    frame_width: int
    frame_height: int

    @property
    def full(self) -> bool:
        return (self.x, self.y, self.width, self.height) == (0, 0, self.frame_width, self.frame_height)

    def bars(self) -> dict[str, int]:
        return {"top": self.y, "bottom": self.frame_height - self.y - self.height, "left": self.x,
                "right": self.frame_width - self.x - self.width}

    def to_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height, **self.bars()}


def _edge(profile_max: np.ndarray, profile_std: np.ndarray, lit_share: np.ndarray, size: int) -> tuple[int, int]:
    """(leading, trailing) bar thickness along one axis, from per-line statistics."""
    bar = (profile_max <= BLACK_MAX) & (profile_std <= FLAT_STD)

    def run(mask: np.ndarray) -> int:
        n = 0
        while n < len(mask) and mask[n]:
            n += 1
        return n

    lead, trail = run(bar), run(bar[::-1])
    if lead >= size or lead + trail >= size:
        return 0, 0  # nothing but black: no picture to measure
    out = []
    for n, inner in ((lead, lead), (trail, size - 1 - trail)):
        ok = n >= MIN_BAR_SHARE * size and lit_share[inner] >= CONTENT_SHARE
        out.append(n if ok else 0)
    lead, trail = out
    if lead and trail and abs(lead - trail) <= SYMMETRY_PX:
        lead = trail = min(lead, trail)
    return lead, trail


def active_area(luma: np.ndarray) -> ActiveArea:
    """From sampled luma frames (N, H, W), 8-bit scale."""
    if luma.ndim != 3 or len(luma) == 0:
        raise ValueError(f"active_area needs (N, H, W) luma frames, got {luma.shape}")
    y = luma.astype(np.float32)
    _, h, w = y.shape
    row_max, col_max = y.max(axis=(0, 2)), y.max(axis=(0, 1))
    row_std = y.std(axis=2).max(axis=0)
    col_std = y.std(axis=1).max(axis=0)
    row_lit = (y.mean(axis=2) > CONTENT_MIN).mean(axis=0)
    col_lit = (y.mean(axis=1) > CONTENT_MIN).mean(axis=0)
    top, bottom = _edge(row_max, row_std, row_lit, h)
    left, right = _edge(col_max, col_std, col_lit, w)
    top, left = top + top % 2, left + left % 2  # inwards, to even offsets
    bottom, right = bottom + bottom % 2, right + right % 2
    return ActiveArea(left, top, w - left - right, h - top - bottom, w, h)
