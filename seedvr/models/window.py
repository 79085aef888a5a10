"""SeedVR's "720p-normalised" variable-size Swin windows on the patchified token grid.

The number of windows per axis (default (4, 3, 3)) is defined at the 720p token grid (45 x 80). For any other
grid the spatial window *size* is what a 720p clip would get, so higher resolutions get more windows, not
bigger ones. Time is capped at `time_cap` latent frames before dividing, so long clips get more windows too.

Two partitions alternate between blocks:

- regular: [i*w, min((i+1)*w, size)), the last window per axis being smaller;
- shifted by half a window: [max(int((i-0.5)*w), 0), min(int((i+0.5)*w), size)), with `int()` truncating
  toward zero, i.e. half windows at both borders (only on axes where the window is smaller than the grid).

Both partitions are the cartesian product of per-axis segments, which is how the rest of the code uses them.
The reference enumerates windows with w outermost, then h, then t innermost; `window_slices` keeps that order.
"""

from __future__ import annotations

import math

Segment = tuple[int, int]  # [start, stop) along one axis


def window_size_720p(size: tuple[int, int, int], num_windows: tuple[int, int, int], time_cap: int = 30
                     ) -> tuple[int, int, int]:
    """Window extent (wt, wh, ww) in tokens for a token grid `size` = (t, h, w)."""
    t, h, w = size
    nt, nh, nw = num_windows
    scale = math.sqrt((45 * 80) / (h * w))
    # Python's round() is banker's rounding; the reference relies on it (e.g. 22.5 -> 22).
    resized_h, resized_w = round(h * scale), round(w * scale)
    return math.ceil(min(t, time_cap) / nt), math.ceil(resized_h / nh), math.ceil(resized_w / nw)


def regular_segments(size: int, window: int) -> list[Segment]:
    """[i*window, min((i+1)*window, size)) for i in range(ceil(size / window))."""
    return [(i * window, min((i + 1) * window, size)) for i in range(math.ceil(size / window))]


def shifted_segments(size: int, window: int) -> list[Segment]:
    """Windows shifted by half their size, truncated with int(); empty segments dropped."""
    shift = 0.5 if window < size else 0
    n = math.ceil((size - shift) / window) + 1 if shift > 0 else 1
    segs = [(max(int((i - shift) * window), 0), min(int((i - shift + 1) * window), size)) for i in range(n)]
    return [(a, b) for a, b in segs if b > a]


def window_segments(size: tuple[int, int, int], num_windows: tuple[int, int, int], *, shifted: bool,
                    time_cap: int = 30) -> tuple[list[Segment], list[Segment], list[Segment]]:
    """Per-axis segments (t, h, w) whose cartesian product is the window partition of `size`."""
    make = shifted_segments if shifted else regular_segments
    win = window_size_720p(size, num_windows, time_cap)
    return tuple(make(s, w) for s, w in zip(size, win, strict=True))  # type: ignore[return-value]


def window_slices(size: tuple[int, int, int], num_windows: tuple[int, int, int], *, shifted: bool,
                  time_cap: int = 30) -> list[tuple[slice, slice, slice]]:
    """All windows as (t, h, w) slices, in the reference's order (w outer, h, t inner)."""
    st, sh, sw = window_segments(size, num_windows, shifted=shifted, time_cap=time_cap)
    return [(slice(*a), slice(*b), slice(*c)) for c in sw for b in sh for a in st]
