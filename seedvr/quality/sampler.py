"""Which frames to score, so the cost of scoring stays bounded however long the clip is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seedvr.errors import ConfigError


@dataclass(frozen=True)
class FrameSampler:
    """Every `stride`-th frame, at most `max_frames` of them spread evenly; 0 means no limit.

    Per-frame scores use the picked frames; temporal scores use the pair (t, t+1) starting at each picked
    frame, and the pairs at segment joins are always added so seams are never sampled away.
    """

    max_frames: int = 0
    stride: int = 1

    def __post_init__(self) -> None:
        if self.max_frames < 0 or self.stride < 1:
            raise ConfigError(f"FrameSampler needs max_frames >= 0 and stride >= 1, got {self}")

    def pick(self, num_frames: int) -> np.ndarray:
        idx = np.arange(0, num_frames, self.stride)
        if self.max_frames and len(idx) > self.max_frames:
            idx = idx[np.linspace(0, len(idx) - 1, self.max_frames).round().astype(int)]
        return np.unique(idx)
