"""PNG plots for reports and notebooks: before/after strips, score curves with joins marked, histograms.

The Agg backend is selected on a private Figure (no pyplot state), so plotting is safe on executors,
in threads and without a display. Every function writes one PNG and returns its path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seedvr.errors import InputError


def _save(fig: Figure, path: str | os.PathLike[str], title: str = "") -> Path:
    """Finish a figure the same way for every plot (optional title, tight layout) and write it as PNG."""
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(p, dpi=100)
    return p


def _plain_axis(ax: Any, axis: str, values: Sequence[float] = ()) -> None:
    """Score axes show the values themselves: no offset ("+2.1e1") or scientific notation, and a curve
    that is constant up to rounding (spread under 1e-6 of its size) is drawn flat, +-5 % around it."""
    ax.ticklabel_format(axis=axis, style="plain", useOffset=False)
    vals = np.asarray([v for v in values if v is not None and np.isfinite(v)], np.float64)
    if vals.size:
        lo, hi = float(vals.min()), float(vals.max())
        size = max(1e-3, abs(lo), abs(hi))
        if hi - lo < 1e-6 * size:
            mid = (lo + hi) / 2
            ax.set_ylim(mid - 0.05 * size, mid + 0.05 * size)


def _to_u8(frame: np.ndarray) -> np.ndarray:
    return (frame >> 8).astype(np.uint8) if frame.dtype == np.uint16 else frame


def frame_strip(
    rows: Mapping[str, np.ndarray],
    path: str | os.PathLike[str],
    *,
    indices: Sequence[int] | None = None,
    height: int = 160,
) -> Path:
    """One row per clip ("input", "restored", "reference", ...) at the same frame indices.

    Clips of different sizes are resized for display only (nearest for upscaling, so pixels stay visible).
    """
    if not rows:
        raise InputError("frame_strip needs at least one clip")
    n = min(len(c) for c in rows.values())
    idx = list(indices) if indices is not None else sorted({0, n // 2, n - 1})
    if any(not 0 <= i < n for i in idx):
        raise InputError(f"frame indices {idx} out of range for clips of {n} frames")
    ref_h, ref_w = next(iter(rows.values())).shape[1:3]
    width = max(1, round(height * ref_w / ref_h))
    fig = Figure(figsize=(len(idx) * width / 100 + 1.2, len(rows) * height / 100 + 0.4))
    axes = fig.subplots(len(rows), len(idx), squeeze=False)
    for r, (name, clip) in enumerate(rows.items()):
        for c, i in enumerate(idx):
            f = _to_u8(clip[i])
            interp = cv2.INTER_NEAREST if f.shape[0] < height else cv2.INTER_AREA
            axes[r][c].imshow(cv2.resize(f, (width, height), interpolation=interp))
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
            if c == 0:
                axes[r][c].set_ylabel(name)
            if r == 0:
                axes[r][c].set_title(f"frame {i}", fontsize=8)
    return _save(fig, path)


def score_curves(
    curves: Mapping[str, Mapping[int, float]],
    path: str | os.PathLike[str],
    *,
    joins: Sequence[int] = (),
    title: str = "",
) -> Path:
    """One panel per score against frame index, with dashed lines at the segment joins."""
    names = [k for k, v in curves.items() if len(v)]
    if not names:
        raise InputError("score_curves needs at least one non-empty curve")
    fig = Figure(figsize=(7, 1.6 * len(names) + 0.6))
    axes = fig.subplots(len(names), 1, squeeze=False, sharex=True)
    for ax, name in zip(axes[:, 0], names, strict=True):
        xs = sorted(curves[name])
        ys = [curves[name][x] for x in xs]
        ax.plot(xs, ys, marker=".", lw=1)
        _plain_axis(ax, "y", ys)
        for b in joins:
            # warp_error is keyed by the first frame of a pair, so the join pair sits at b - 1
            ax.axvline(b - 0.5, color="tab:red", ls="--", lw=0.8)
        ax.set_ylabel(name, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("frame")
    return _save(fig, path, title)


def score_histograms(
    values: Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    *,
    bins: int = 20,
    title: str = "",
) -> Path:
    """One histogram per score, e.g. a per-video aggregate across a catalog; several series overlay when
    `values` maps "score" to {"preset": [...]}-like dicts."""
    names = list(values)
    if not names:
        raise InputError("score_histograms needs at least one score")
    fig = Figure(figsize=(3.2 * len(names), 2.6))
    axes = fig.subplots(1, len(names), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        series = values[name]
        groups = series.items() if isinstance(series, Mapping) else [("", series)]
        for label, vals in groups:
            arr = np.asarray([v for v in vals if v is not None and np.isfinite(v)], np.float64)
            if arr.size:
                ax.hist(arr, bins=bins, alpha=0.6, label=label or None)
        _plain_axis(ax, "x")
        ax.set_title(name, fontsize=9)
        if isinstance(series, Mapping):
            ax.legend(fontsize=7)
    return _save(fig, path, title)
