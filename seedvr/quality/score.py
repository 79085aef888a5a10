"""Score one restored clip: per-frame curves, seam scores, and a flat dict of aggregates for a Delta row.

Bad input never loses the other scores: a score that cannot be computed records `<score>_error` with the
reason, and weight-backed metrics without weights are listed under `skipped`.

Length policy: when the reference (or the input) has a different frame count from the restored clip, the
overlapping frames [0, min(T_restored, T_other)) are scored and a note says so; nothing is padded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from seedvr.errors import ConfigError, InputError, error_class_of
from seedvr.quality.fidelity import FIDELITY_SCORES
from seedvr.quality.frames import check_clip, same_size
from seedvr.quality.fullref import FULLREF_SCORES, POOLED_PSNR_SCORES, pooled_psnr
from seedvr.quality.noref import NOREF_SCORES
from seedvr.quality.optional import OPTIONAL_METRICS, run_optional
from seedvr.quality.sampler import FrameSampler
from seedvr.quality.temporal import DIS_PRESETS, seam_scores, warp_errors


@dataclass(frozen=True)
class ScoreConfig:
    """What to compute. `weights` maps an optional metric name to a local weight path (see optional.py)."""

    sampler: FrameSampler = field(default_factory=lambda: FrameSampler(max_frames=32))
    noref: bool = True
    temporal: bool = True
    flow_preset: str = "fast"
    seam_window: int = 6
    optional: tuple[str, ...] = ()
    weights: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.flow_preset not in DIS_PRESETS:
            raise ConfigError(f"flow_preset must be one of {sorted(DIS_PRESETS)}, got {self.flow_preset!r}")
        unknown = [m for m in self.optional if m not in OPTIONAL_METRICS]
        if unknown:
            raise ConfigError(f"unknown optional metrics {unknown}; known: {sorted(OPTIONAL_METRICS)}")


@dataclass
class ClipScores:
    """Per-frame curves keyed by frame index (warp_error by the first frame of each pair), seams by join."""

    curves: dict[str, dict[int, float]] = field(default_factory=dict)
    seams: dict[int, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    frames_scored: int = 0
    num_frames: int = 0

    def aggregates(self) -> dict[str, float | int | str]:
        """Flat, JSON- and Delta-friendly: `<score>_{mean,min,p10}`, seam_max/seam_mean, errors, skipped.

        `_mean` is the clip's value: the mean of the per-frame values, except for PSNR scores (`psnr`,
        `lr_psnr`), whose `_mean` is the PSNR of the mean squared error (`pooled_psnr`). `_min` and `_p10`
        are always over the per-frame values.
        """
        row: dict[str, float | int | str] = {"num_frames": self.num_frames, "frames_scored": self.frames_scored}
        for name, curve in sorted(self.curves.items()):
            vals = np.array([v for v in curve.values() if np.isfinite(v)], np.float64)
            if vals.size == 0:
                continue
            row[f"{name}_mean"] = pooled_psnr(vals) if name in POOLED_PSNR_SCORES else float(vals.mean())
            row[f"{name}_min"] = float(vals.min())
            row[f"{name}_p10"] = float(np.percentile(vals, 10))  # the worst tenth, which a mean hides
        seams = np.array([v for v in self.seams.values() if np.isfinite(v)], np.float64)
        if len(self.seams):
            row["seam_count"] = len(self.seams)
            row["seam_max"] = float(seams.max()) if seams.size else float("nan")
            row["seam_mean"] = float(seams.mean()) if seams.size else float("nan")
        for name, msg in sorted(self.errors.items()):
            row[f"{name}_error"] = msg
        if self.skipped:
            row["skipped"] = "; ".join(self.skipped)
        if self.notes:
            row["notes"] = "; ".join(self.notes)
        return row


def _each(
    out: ClipScores,
    names: Mapping[str, Callable[..., float]],
    frames: Sequence[int],
    args: Callable[[int], tuple[np.ndarray, ...]],
    prefix: str = "",
) -> None:
    for name, fn in names.items():
        try:
            out.curves[prefix + name] = {int(t): fn(*args(t)) for t in frames}
        except Exception as exc:  # one score failing must not lose the others
            out.errors[prefix + name] = f"{error_class_of(exc)}: {exc}"


def _overlap(out: ClipScores, n: int, other: np.ndarray, what: str) -> int:
    if len(other) != n:
        out.notes.append(f"{what} has {len(other)} frames, restored {n}: {what} scores cover frames 0-{min(n, len(other)) - 1}")
    return min(n, len(other))


# A join whose input pair changes this many times more than its neighbours is a scene cut of the input.
SCENE_CUT_RATIO = 3.0


def _skip_input_cuts(out: ClipScores, lq: np.ndarray, joins: Sequence[int], cfg: ScoreConfig) -> dict[int, float]:
    """Seam scores, with NaN (and a note) at joins where the input itself cuts to another shot.

    Segment plans put joins at scene cuts, where any output changes abruptly; such a join says nothing
    about stitching. Only the pairs around the joins are measured on the input, at the input's size.
    """
    near = {t for b in joins for t in range(int(b) - 1 - cfg.seam_window, int(b) + cfg.seam_window)}
    in_errs = warp_errors(lq, sorted(near), preset=cfg.flow_preset)
    out.curves["input_warp_error"] = in_errs
    in_seams = seam_scores(in_errs, joins, window=cfg.seam_window)
    cuts = [b for b, v in in_seams.items() if np.isfinite(v) and v > SCENE_CUT_RATIO]
    if cuts:
        out.notes.append(f"joins {cuts} sit on scene cuts of the input: seam not scored there")
    return {b: float("nan") if b in cuts else v for b, v in out.seams.items()}


def score_clip(
    restored: np.ndarray,
    *,
    reference: np.ndarray | None = None,
    lq: np.ndarray | None = None,
    joins: Sequence[int] = (),
    config: ScoreConfig | None = None,
) -> ClipScores:
    """Scores of `restored` (T, H, W, 3): no-reference always, full-reference with `reference` (ground
    truth, same size), fidelity and input-flow temporal scores with `lq` (the input that was restored),
    seam scores at `joins` (first frame of each segment after the first). Deterministic."""
    cfg = config or ScoreConfig()
    restored = check_clip(restored, "restored")
    n = len(restored)
    out = ClipScores(num_frames=n)
    picked = [int(t) for t in cfg.sampler.pick(n)]
    out.frames_scored = len(picked)
    bad_joins = [b for b in joins if not 0 < int(b) < n]
    if bad_joins:
        raise InputError(f"joins must be frame indices in 1..{n - 1}, got {bad_joins}")

    # 1. no-reference, on the output and (for before/after) on the input
    if cfg.noref:
        _each(out, NOREF_SCORES, picked, lambda t: (restored[t],))
    if lq is not None:
        lq = check_clip(lq, "lq")
        m = _overlap(out, n, lq, "input")
        lq_picked = [t for t in picked if t < m]
        if cfg.noref:
            _each(out, NOREF_SCORES, lq_picked, lambda t: (lq[t],), prefix="input_")
        _each(out, FIDELITY_SCORES, lq_picked, lambda t: (restored[t], lq[t]))

    # 2. full reference
    ref_pairs: dict[int, np.ndarray] = {}
    if reference is not None:
        reference = check_clip(reference, "reference")
        try:
            same_size(restored, reference, "full-reference scores")
            m = _overlap(out, n, reference, "reference")
            ref_pairs = {t: reference[t] for t in picked if t < m}
            _each(out, FULLREF_SCORES, sorted(ref_pairs), lambda t: (restored[t], ref_pairs[t]))
        except InputError as exc:
            for name in FULLREF_SCORES:
                out.errors[name] = f"input: {exc}"

    # 3. temporal: sampled pairs, plus every join and its neighbourhood so seams are always measured
    if cfg.temporal and n > 1:
        pairs = set(picked)
        for b in joins:
            pairs.update(range(int(b) - 1 - cfg.seam_window, int(b) + cfg.seam_window))
        flow = lq if lq is not None and len(lq) == n else None
        if lq is not None and flow is None:
            out.notes.append("motion estimated on the restored clip (input frame count differs)")
        try:
            errs = warp_errors(restored, sorted(pairs), flow_frames=flow, preset=cfg.flow_preset)
            out.curves["warp_error"] = errs
            if joins:
                out.seams = seam_scores(errs, joins, window=cfg.seam_window)
                if flow is not None:
                    out.seams = _skip_input_cuts(out, flow, joins, cfg)
        except Exception as exc:
            out.errors["warp_error"] = f"{error_class_of(exc)}: {exc}"

    # 4. weight-backed metrics, only with local weights
    if cfg.optional:
        pairs_opt = [(t, restored[t], ref_pairs.get(t)) for t in picked]
        curves, errors, skipped = run_optional(cfg.optional, dict(cfg.weights), pairs_opt)
        out.curves.update(curves)
        out.errors.update(errors)
        out.skipped.extend(skipped)
    return out
