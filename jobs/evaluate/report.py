"""The evaluation report: a CSV of every row, a Markdown page comparing restorers side by side, and plots."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from jobs.evaluate.core import HEADLINE, PairOutcome
from seedvr.quality.plots import frame_strip, score_curves, score_histograms

FIRST_COLUMNS = ("video_id", "preset", "content_class", "num_frames", "in_width", "in_height", "out_width",
                 "out_height", "segments", "restore_s", "score_s", *HEADLINE, "error_class", "error_message")


def rows_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """All rows, headline columns first, then every other score in name order."""
    df = pd.DataFrame(list(rows))
    first = [c for c in FIRST_COLUMNS if c in df.columns]
    return df[first + sorted(c for c in df.columns if c not in first)]


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], body: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in body]
    return "\n".join(lines)


def markdown(
    rows: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Mapping[str, float]],
    *,
    title: str,
    params: Mapping[str, Any],
    images: Sequence[Path] = (),
    base: Path | None = None,
) -> str:
    """The report page: run parameters, one line per restorer, the side-by-side per-video table, notes."""
    presets = list(summary)
    cols = [c for c in HEADLINE if any(c in s for s in summary.values())]
    parts = [f"# {title}", "", _table(["parameter", "value"], [[k, v] for k, v in params.items()]), ""]
    parts += ["## Restorers (mean over videos)", "",
              _table(["preset", "ok", "failed", *cols],
                     [[p, int(summary[p]["videos_ok"]), int(summary[p]["videos_failed"]),
                       *(summary[p].get(c) for c in cols)] for p in presets]), ""]
    videos = list(dict.fromkeys(r["video_id"] for r in rows))
    by = {(r["video_id"], r["preset"]): r for r in rows}
    side = [c for c in ("psnr_mean", "ssim_mean", "lr_psnr_mean", "warp_error_mean", "seam_max")
            if any(c in r for r in rows)]
    if side and len(presets) > 1:
        parts += ["## Side by side", "",
                  _table(["video", *(f"{p} {c}" for c in side for p in presets)],
                         [[v, *(by.get((v, p), {}).get(c) for c in side for p in presets)] for v in videos]), ""]
    parts += ["## Per video", "",
              _table(["video", "preset", "class", "frames", *cols, "error"],
                     [[r["video_id"], r["preset"], r.get("content_class"), r.get("num_frames"),
                       *(r.get(c) for c in cols), r.get("error_message")] for r in rows]), ""]
    notes = sorted({f"{r['video_id']} / {r['preset']}: {k} = {r[k]}" for r in rows for k in r
                    if k.endswith("_error") or k in ("skipped", "notes")})
    if notes:
        parts += ["## Skipped scores, errors and notes", "", *(f"- {_fmt(n)}" for n in notes), ""]
    if images:
        parts += ["## Plots", ""]
        parts += [f"![{p.stem}]({p.relative_to(base) if base else p})" for p in images]
        parts.append("")
    return "\n".join(parts)


def plots(
    outcomes: Sequence[tuple[str, PairOutcome]],
    rows: Sequence[Mapping[str, Any]],
    out_dir: Path,
    *,
    max_videos: int = 4,
) -> list[Path]:
    """A before/after strip and score curves for the first `max_videos` videos; histograms over all."""
    paths: list[Path] = []
    for video_id, oc in outcomes[:max_videos]:
        clips: dict[str, Any] = {}
        if oc.lq is not None:
            clips["input"] = oc.lq
        clips.update({r.row["preset"]: r.restored for r in oc.results if r.restored is not None})
        if oc.hq is not None:
            clips["reference"] = oc.hq
        if len(clips) > 1:
            paths.append(frame_strip(clips, out_dir / f"{video_id}_strip.png"))
        for r in oc.results:
            if r.scores is not None and any(r.scores.curves.values()):
                paths.append(score_curves(r.scores.curves, out_dir / f"{video_id}_{r.row['preset']}_curves.png",
                                          joins=r.joins, title=f"{video_id} / {r.row['preset']}"))
    hist_cols = [c for c in ("psnr_mean", "ssim_mean", "warp_error_mean", "sharpness_mean") if any(c in r for r in rows)]
    if hist_cols and len(rows) > 1:
        values = {c: {p: [r[c] for r in rows if r["preset"] == p and c in r]
                      for p in dict.fromkeys(r["preset"] for r in rows)} for c in hist_cols}
        paths.append(score_histograms(values, out_dir / "histograms.png"))
    return paths
