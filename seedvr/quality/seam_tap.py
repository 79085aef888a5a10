"""Seam scores taken from a stitched stream as it passes, so nothing is decoded a second time.

The stitcher yields every output frame once, in order; this keeps only the few frames around each join
(`window` either side), scores a join as soon as its neighbourhood has passed, and drops them: memory is
bounded by one join's window whatever the video's length.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seedvr.quality.temporal import seam_scores, warp_errors

SEAM_WINDOW = 6


class SeamTap:
    """Call it with `(frame_index, frame)` for every frame in order; read `scores` at the end."""

    def __init__(self, joins: Sequence[int], num_frames: int, *, window: int = SEAM_WINDOW) -> None:
        self.window = window
        self._ranges = sorted(
            (int(b), max(0, int(b) - window - 1), min(num_frames, int(b) + window + 1)) for b in joins
        )
        self._kept: dict[int, np.ndarray] = {}
        self.scores: dict[int, float] = {}

    def __call__(self, index: int, frame: np.ndarray) -> None:
        if any(lo <= index < hi for _, lo, hi in self._ranges):
            self._kept[index] = np.array(frame, copy=True)  # the stream may reuse its buffers
        while self._ranges and index >= self._ranges[0][2] - 1:
            self._score(*self._ranges.pop(0))
            first_needed = self._ranges[0][1] if self._ranges else index + 1
            self._kept = {i: f for i, f in self._kept.items() if i >= first_needed}

    def _score(self, join: int, lo: int, hi: int) -> None:
        if hi - lo < 3 or any(i not in self._kept for i in range(lo, hi)):
            return
        clip = np.stack([self._kept[i] for i in range(lo, hi)])
        self.scores[join] = seam_scores(warp_errors(clip), [join - lo], window=self.window)[join - lo]
