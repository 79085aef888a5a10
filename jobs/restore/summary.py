"""The end-of-run summary printed by seedvr-restore and seedvr-demo (rich table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Console
from rich.table import Table

from jobs.config import JobConfig
from jobs.tables import table_refs

if TYPE_CHECKING:
    from jobs.restore.pipeline import RestoreReport

# Scores shown in the table when present (the full set is in the restorations table and MLflow).
MAX_ROWS = 50
SHOWN_SCORES = ("sharpness_mean", "lr_psnr_mean", "warp_error_mean", "seam_max")


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


def print_summary(cfg: JobConfig, rep: RestoreReport, console: Console | None = None) -> None:
    console = console or Console(width=None if Console().is_terminal else 140)
    if rep.selected == 0:
        console.print(f"[yellow]{rep.message}[/yellow]", soft_wrap=True)  # one line, whatever its length
        return
    res = rep.restorations
    shown = [s for s in SHOWN_SCORES if any(isinstance(m, dict) and s in m for m in res.get("scores", []))]
    t = Table(title=f"restore run {rep.run_id[:8]}  config {rep.config_hash}  preset {cfg.model.preset}")
    for col in ("video", "class", "status", "segments", "frames", "size", *shown, "error"):
        t.add_column(col, overflow="fold")
    ordered = res.sort_values(["status", "video_id"], ascending=[True, True])  # failed first
    for r in ordered.head(MAX_ROWS).itertuples(index=False):
        scores = r.scores if isinstance(r.scores, dict) else {}
        size = f"{int(r.out_width)}x{int(r.out_height)}" if _present(r.out_width) and _present(r.out_height) else ""
        colour = "green" if r.status == "ok" else "red"
        t.add_row(
            str(r.video_id), _text(r.content_class), f"[{colour}]{r.status}[/{colour}]",
            f"{_count(r.segments_ok)}/{_count(r.num_segments)}",
            str(int(r.num_frames)) if _present(r.num_frames) else "", size,
            *[f"{scores[s]:.3g}" if s in scores else "" for s in shown],
            "" if r.status == "ok" else f"{_text(r.error_class)}: {_text(r.error_message)[:120]}",
        )
    console.print(t)
    if len(res) > MAX_ROWS:
        console.print(f"... and {len(res) - MAX_ROWS} more videos (all rows are in the restorations table)")
    tables = table_refs(cfg.tables)
    console.print(f"{rep.message}; wall {rep.wall_s:.1f}s "
                  f"({', '.join(f'{k} {v:.1f}s' for k, v in rep.stage_s.items())})")
    console.print(f"outputs: {cfg.storage.output_root}/videos/{rep.config_hash}/")
    console.print(scratch_line(cfg, rep))
    console.print(f"tables:  videos={tables.videos.label}\n         restorations={tables.restorations.label}\n"
                  f"         segments={tables.segments.label}")
    if rep.mlflow_run_id:
        from jobs.tracking import tracking_uri

        console.print(f"mlflow:  run {rep.mlflow_run_id} in {tracking_uri(cfg)} "
                      f"(experiment {cfg.tracking.experiment!r})")
