"""Shot cuts without weights: FFmpeg's `scdet` scene-change score per frame, then peak picking.

scdet scores each frame by its difference to the previous one relative to the running difference, so a
pan or a flash scores low and a hard cut high. A cut is a frame whose score passes `threshold`, is the
highest within `min_shot` frames around it, and starts a shot at least `min_shot` frames long: a dissolve
or a fade spreads its change over many frames, scores low on each, and yields at most one cut, never a
storm. Analysed on a small copy of each frame (the score is about the picture, not its detail).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

ANALYSER = "ffmpeg-scdet"
# scdet's own default threshold (percent of change).
THRESHOLD = 10.0
ANALYSIS_WIDTH = 256


@dataclass(frozen=True)
class Cut:
    frame: int  # the first frame of the new shot
    score: float


def pick_cuts(scores: Sequence[float], *, threshold: float = THRESHOLD, min_shot: int = 12) -> list[Cut]:
    """Cuts from per-frame scores (index = frame): local maxima over `threshold`, shots >= `min_shot`."""
    cuts: list[Cut] = []
    n = len(scores)
    for i in range(1, n):
        s = scores[i]
        if s < threshold:
            continue
        lo, hi = max(1, i - min_shot + 1), min(n, i + min_shot)
        if any(scores[j] > s or (scores[j] == s and j < i) for j in range(lo, hi) if j != i):
            continue
        if cuts and i - cuts[-1].frame < min_shot:
            continue
        if i < min_shot // 2 or n - i < min_shot // 2:
            continue  # a "shot" of a few frames at either end is a fade or a splice, not a shot
        cuts.append(Cut(i, float(s)))
    return cuts


def score_of(metadata: dict[str, str]) -> float:
    try:
        return float(metadata.get("lavfi.scd.score", 0.0))
    except ValueError:
        return 0.0
