"""Restore each pair with each restorer and score it; no Spark, no MLflow (those are in the job's sinks).

Clips are restored either whole or in segments planned and cross-faded the way the restore job does it,
so seam scores measure the joins the product would produce.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jobs.evaluate.pairs import EvalPair
from seedvr.errors import InputError, error_class_of
from seedvr.quality import ClipScores, ScoreConfig, score_clip
from seedvr.restorer import Restorer, TargetSize, derive_seed
from seedvr.video.plan import plan_segments
from seedvr.video.stitch import blend_stream

# Columns every report shows first, in this order (when present).
HEADLINE = (
    "psnr_mean", "ssim_mean", "lpips_mean", "lr_psnr_mean", "lr_delta_e_mean", "sharpness_mean",
    "noise_sigma_mean", "blockiness_mean", "warp_error_mean", "seam_max",
)


@dataclass(frozen=True)
class EvalSettings:
    """How clips are restored and scored. `frames` > 0 evaluates only the first frames of each clip."""

    score: ScoreConfig = field(default_factory=ScoreConfig)
    seed: int = 0
    frames: int = 0
    segment_frames: int = 0
    context_frames: int = 0
    blend: str = "linear"
    scale: float = 2.0


def read_clip(uri: str, frames: int = 0) -> np.ndarray:
    """All frames (or the first `frames`) of a video, through the product's exact decoder."""
    from seedvr.video.decode import read_frames
    from seedvr.video.probe import probe

    info = probe(uri)  # a child process: a crash in FFmpeg on an untrusted file must not kill the driver
    stop = info.num_frames if frames <= 0 else min(frames, info.num_frames)
    return read_frames(uri, 0, stop, info)


def restore_clip(
    restorer: Restorer,
    frames: np.ndarray,
    *,
    video_id: str,
    seed: int,
    target: TargetSize | None,
    segment_frames: int = 0,
    context_frames: int = 0,
    blend: str = "linear",
) -> tuple[np.ndarray, list[int]]:
    """Restore whole (segment_frames 0) or segment by segment with cross-faded context frames.

    Returns the restored clip and its joins (the first output frame of every segment after the first).
    """
    n = len(frames)
    if segment_frames <= 0 or segment_frames >= n:
        return restorer.restore(frames, seed=derive_seed(video_id, 0, seed), target=target), []
    plan = plan_segments(n, segment_frames, context_frames)

    def open_segment(k: int) -> Iterator[np.ndarray]:
        seg = plan[k]
        window = frames[seg.window_start : seg.window_stop]
        return iter(restorer.restore(window, seed=derive_seed(video_id, seg.index, seed), target=target))

    out = np.stack([frame for _, frame in blend_stream(plan, open_segment, num_frames=n, blend=blend)])
    return out, [s.first_output for s in plan[1:]]


@dataclass
class EvalResult:
    """One (video, restorer) outcome: the flat row for tables and reports, and what plots need."""

    row: dict[str, Any]
    scores: ClipScores | None = None
    restored: np.ndarray | None = None
    joins: list[int] = field(default_factory=list)


def _target(lq: np.ndarray, hq: np.ndarray | None, scale: float) -> TargetSize:
    if hq is None:
        return TargetSize.by_scale(scale)
    fy, fx = hq.shape[1] / lq.shape[1], hq.shape[2] / lq.shape[2]
    if abs(fy - fx) > 0.01:
        raise InputError(
            f"reference {hq.shape[2]}x{hq.shape[1]} and input {lq.shape[2]}x{lq.shape[1]} have different aspect "
            "ratios; the pair does not match"
        )
    return TargetSize.by_scale(fy)


@dataclass
class PairOutcome:
    """Every restorer's result for one pair; the decoded input and reference when frames were kept."""

    results: list[EvalResult]
    lq: np.ndarray | None = None
    hq: np.ndarray | None = None


def evaluate_pair(
    pair: EvalPair,
    restorers: Mapping[str, Restorer],
    settings: EvalSettings,
    *,
    keep_frames: bool = False,
) -> PairOutcome:
    """Decode once, restore with each restorer, score each output; failures become rows with an error."""
    base = {"video_id": pair.video_id, "content_class": pair.content_class, "lq_uri": pair.lq_uri,
            "hq_uri": pair.hq_uri}
    try:
        lq = read_clip(pair.lq_uri, settings.frames)
        hq = read_clip(pair.hq_uri, settings.frames) if pair.hq_uri else None
        target = _target(lq, hq, settings.scale)
    except Exception as exc:  # an unreadable pair fails its rows, never the run
        return PairOutcome([
            EvalResult({**base, "preset": name, "error_class": error_class_of(exc), "error_message": str(exc)})
            for name in restorers
        ])
    results = []
    for name, restorer in restorers.items():
        row: dict[str, Any] = {**base, "preset": name, "num_frames": len(lq), "in_width": lq.shape[2],
                               "in_height": lq.shape[1]}
        try:
            t0 = time.perf_counter()
            out, joins = restore_clip(restorer, lq, video_id=pair.video_id, seed=settings.seed, target=target,
                                      segment_frames=settings.segment_frames,
                                      context_frames=settings.context_frames, blend=settings.blend)
            row["restore_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            scores = score_clip(out, reference=hq, lq=lq, joins=joins, config=settings.score)
            row["score_s"] = time.perf_counter() - t0
            row.update(out_width=out.shape[2], out_height=out.shape[1], segments=len(joins) + 1)
            row.update(scores.aggregates())
            results.append(EvalResult(row, scores, out if keep_frames else None, joins))
        except Exception as exc:
            row.update(error_class=error_class_of(exc), error_message=str(exc))
            results.append(EvalResult(row))
    return PairOutcome(results, lq if keep_frames else None, hq if keep_frames else None)


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Per restorer: the mean over videos of every numeric aggregate, plus ok/failed counts."""
    out: dict[str, dict[str, float]] = {}
    for preset in dict.fromkeys(r["preset"] for r in rows):
        mine = [r for r in rows if r["preset"] == preset]
        ok = [r for r in mine if not r.get("error_class")]
        summary: dict[str, float] = {"videos_ok": float(len(ok)), "videos_failed": float(len(mine) - len(ok))}
        keys = sorted({k for r in ok for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
        for k in keys:
            vals = np.array([float(r[k]) for r in ok if k in r], np.float64)
            vals = vals[np.isfinite(vals)]
            if vals.size:
                summary[k] = float(vals.mean())
        out[preset] = summary
    return out
