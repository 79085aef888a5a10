"""The end-of-run summary printed by seedvr-restore and seedvr-demo (rich table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from jobs.config import JobConfig
from jobs.tables import table_refs

if TYPE_CHECKING:
    from jobs.pipeline import RestoreReport

# Scores shown in the table when present (the full set is in the restorations table and MLflow).
MAX_ROWS = 50
SHOWN_SCORES = ("sharpness_mean", "lr_psnr_mean", "warp_error_mean", "seam_max")


def print_summary(cfg: JobConfig, rep: RestoreReport, console: Console | None = None) -> None:
    console = console or Console(width=None if Console().is_terminal else 140)
    if rep.selected == 0:
        console.print(f"[yellow]{rep.message}[/yellow]")
        return
    res = rep.restorations
    shown = [s for s in SHOWN_SCORES if any(isinstance(m, dict) and s in m for m in res.get("scores", []))]
    t = Table(title=f"restore run {rep.run_id[:8]}  config {rep.config_hash}  preset {cfg.model.preset}")
    for col in ("video", "class", "status", "segments", "frames", "size", *shown, "error"):
        t.add_column(col, overflow="fold")
    ordered = res.sort_values(["status", "video_id"], ascending=[True, True])  # failed first
    for r in ordered.head(MAX_ROWS).itertuples(index=False):
        scores = r.scores if isinstance(r.scores, dict) else {}
        size = f"{int(r.out_width)}x{int(r.out_height)}" if r.out_width == r.out_width and r.out_width else ""
        colour = "green" if r.status == "ok" else "red"
        t.add_row(
            str(r.video_id), str(r.content_class or ""), f"[{colour}]{r.status}[/{colour}]",
            f"{r.segments_ok or 0}/{r.num_segments or 0}",
            "" if r.num_frames != r.num_frames or r.num_frames is None else str(int(r.num_frames)), size,
            *[f"{scores[s]:.3g}" if s in scores else "" for s in shown],
            "" if r.status == "ok" else f"{r.error_class}: {str(r.error_message)[:120]}",
        )
    console.print(t)
    if len(res) > MAX_ROWS:
        console.print(f"... and {len(res) - MAX_ROWS} more videos (all rows are in the restorations table)")
    tables = table_refs(cfg.tables)
    console.print(f"{rep.message}; wall {rep.wall_s:.1f}s "
                  f"({', '.join(f'{k} {v:.1f}s' for k, v in rep.stage_s.items())})")
    console.print(f"outputs: {cfg.storage.output_root}/videos/{rep.config_hash}/")
    console.print(f"tables:  videos={tables.videos.label}\n         restorations={tables.restorations.label}\n"
                  f"         segments={tables.segments.label}")
    if rep.mlflow_run_id:
        from jobs.tracking import tracking_uri

        console.print(f"mlflow:  run {rep.mlflow_run_id} in {tracking_uri(cfg)} "
                      f"(experiment {cfg.tracking.experiment!r})")
