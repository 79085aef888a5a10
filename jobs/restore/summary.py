"""The end-of-run summary printed by seedvr-restore and seedvr-demo (rich table)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Console
from rich.table import Table

from jobs.config import JobConfig
from jobs.tables import table_refs
from seedvr.quality.video import HEADLINE_SCORES

if TYPE_CHECKING:
    from jobs.restore.pipeline import RestoreReport

MAX_ROWS = 50
# The headline scores shown when present, in seedvr.quality.video's order, with their column titles; the
# values are the restorations table's (the full set is there and in MLflow). docs/quality.md defines each.
SHOWN_SCORES = HEADLINE_SCORES
COLUMN_TITLES = {
    "lr_psnr_mean": "lr_psnr", "lr_delta_e_mean": "lr_ΔE", "sharpness_ratio": "sharp×", "noise_sigma_ratio": "noise×",
    "blockiness_ratio": "block×", "warp_error_mean": "warp", "seam_max": "seam",
}
LEGEND = ("scores (docs/quality.md): lr_psnr dB / lr_ΔE = fidelity to the input, output shrunk to its size (higher dB, "
          "lower ΔE: more faithful); × = output / input resized bicubically (sharp > 1 sharper, noise < 1 cleaner, "
          "block < 1 fewer blocks); warp = change between frames, 0-255 (lower: steadier); seam = worst join / its "
          "neighbours (1: invisible)")


def fmt(v: float) -> str:
    """A score as plain digits: 2 decimals, 1 from 100, none (with thousands separators) from 1000."""
    if not math.isfinite(v):
        return ""
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.1f}" if abs(v) >= 100 else f"{v:.2f}"


def model_line(cfg: JobConfig) -> str | None:
    """What the scores can mean for the preset used: nothing beyond "it runs" for seeded random weights."""
    from seedvr.checkpoints.presets import get_preset

    p = get_preset(cfg.model.preset)
    if p.random_init_seed is not None and not cfg.model.weights:
        return (f"model: preset {p.name} has seeded random weights, so the outputs are noise and these scores only "
                "show that the pipeline runs; for a real model: seedvr-restore --preset seedvr2-3b --weights "
                "PATH_OR_URL")
    if p.is_identity:
        return (f"model: preset {p.name} passes frames through (resized to the target): the scores measure the "
                "resize and the encoding only")
    return None


def _present(v: object) -> bool:
    """A real, non-zero number (not None, NaN or pandas NA, whose truth value raises)."""
    return v is not None and not pd.isna(v) and bool(v)


def _text(v: object) -> str:
    return "" if v is None or (not isinstance(v, (list, dict)) and pd.isna(v)) else str(v)


def _count(v: object) -> int:
    return int(v) if _present(v) else 0


def scratch_line(cfg: JobConfig, rep: RestoreReport) -> str:
    """What became of the segment files: freed after commit, or kept on request."""
    where = f"{cfg.storage.output_root}/segments/"
    if cfg.storage.keep_intermediates:
        return f"scratch: segment files kept under {where} (storage.keep_intermediates)"
    return (f"scratch: freed {rep.freed_bytes / 1e6:.1f} MB of segment files of {rep.freed_videos} committed "
            f"videos under {where} (--keep-intermediates keeps them)")


def wave_line(costs: list[dict[str, float]]) -> str:
    """What the waves cost beyond their restores: the MERGE each adds (min/median/max) and its share."""
    import statistics

    merges = [c["merge_s"] for c in costs]
    total = sum(c["restore_append_s"] + c["merge_s"] for c in costs) or 1.0
    return (f"waves: {len(costs)} of up to {max(int(c['segments']) for c in costs)} segments; MERGE per wave "
            f"{min(merges):.2f}/{statistics.median(merges):.2f}/{max(merges):.2f}s (min/median/max), "
            f"{100 * sum(merges) / total:.0f}% of the restore stage")


def print_summary(cfg: JobConfig, rep: RestoreReport, console: Console | None = None) -> None:
    # A log has no width: wide enough for every column (a terminal uses its own).
    console = console or Console(width=None if Console().is_terminal else 200)
    if rep.selected == 0:
        console.print(f"[yellow]{rep.message}[/yellow]", soft_wrap=True)  # one line, whatever its length
        return
    res = rep.restorations
    shown = [s for s in SHOWN_SCORES if any(isinstance(m, dict) and s in m for m in res.get("scores", []))]
    t = Table(title=f"restore run {rep.run_id[:8]}  config {rep.config_hash}  preset {cfg.model.preset}")
    errors = any(_text(m) for m in res.get("error_message", []))
    t.add_column("video", overflow="fold", min_width=min(40, max((len(str(v)) for v in res["video_id"]), default=5)))
    for col in ("class", "status", "segments", "frames", "size"):
        t.add_column(col, overflow="fold")
    for s in shown:
        t.add_column(COLUMN_TITLES.get(s, s), justify="right", no_wrap=True)
    if errors:
        t.add_column("error", overflow="fold")
    ordered = res.sort_values(["status", "video_id"], ascending=[True, True])  # failed first
    for r in ordered.head(MAX_ROWS).itertuples(index=False):
        scores = r.scores if isinstance(r.scores, dict) else {}
        size = f"{int(r.out_width)}x{int(r.out_height)}" if _present(r.out_width) and _present(r.out_height) else ""
        colour = "green" if r.status == "ok" else "red"
        t.add_row(
            str(r.video_id), _text(r.content_class), f"[{colour}]{r.status}[/{colour}]",
            f"{_count(r.segments_ok)}/{_count(r.num_segments)}",
            str(int(r.num_frames)) if _present(r.num_frames) else "", size,
            *[fmt(float(scores[s])) if s in scores else "" for s in shown],
            *([f"{_text(r.error_class)}: {_text(r.error_message)[:120]}" if _text(r.error_message) else ""]
              if errors else []),
        )
    console.print(t)
    if shown:
        console.print(LEGEND, soft_wrap=True)  # one line, whatever its length
    note = model_line(cfg)
    if note:
        console.print(f"[yellow]{note}[/yellow]", soft_wrap=True)
    if len(res) > MAX_ROWS:
        console.print(f"... and {len(res) - MAX_ROWS} more videos (all rows are in the restorations table)")
    tables = table_refs(cfg.tables)
    console.print(f"{rep.message}; wall {rep.wall_s:.1f}s "
                  f"({', '.join(f'{k} {v:.1f}s' for k, v in rep.stage_s.items())})")
    console.print(f"outputs: {cfg.storage.output_root}/videos/{rep.config_hash}/")
    if rep.freed_videos or cfg.storage.keep_intermediates:
        console.print(scratch_line(cfg, rep))
    if rep.wave_costs:
        console.print(wave_line(rep.wave_costs), soft_wrap=True)
    if rep.wave_sizing is not None and rep.wave_costs:
        console.print(rep.wave_sizing.line(), soft_wrap=True)
    compacted = [m for m in rep.maintenance if m.error or m.files_before != m.files_after]
    if compacted:
        console.print("maintenance: " + "; ".join(m.line() for m in compacted), soft_wrap=True)
    console.print(f"tables:  videos={tables.videos.label}\n         restorations={tables.restorations.label}\n"
                  f"         segments={tables.segments.label}")
    if rep.mlflow_run_id:
        from jobs.tracking import tracking_uri

        console.print(f"mlflow:  run {rep.mlflow_run_id} in {tracking_uri(cfg)} "
                      f"(experiment {cfg.tracking.experiment!r})")
