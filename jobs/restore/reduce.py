"""The reducer on the driver side: per video, all segments ok -> stitch on executors; any failed ->
a failed restoration row. Works on metadata rows only; frames never reach the driver.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd

from jobs.config import JobConfig
from jobs.restore import progress_bars
from jobs.restore.prepare import Prepared, apply_overrides
from jobs.schemas import EXECUTOR_PROVENANCE
from jobs.tables import Tables
from seedvr.provenance.signing import SigningRefs
from seedvr.video.decode import DecodeLimits
from udfs.stitch import StitchSettings, StitchVideos

if TYPE_CHECKING:
    from jobs.restore.pipeline import RestoreReport


def reduce_videos(spark: Any, cfg: JobConfig, tables: Tables, plan_pdf: pd.DataFrame, sel_pdf: pd.DataFrame,
                  chash: str, videos: Any, report: RestoreReport, show_progress: bool,
                  prepared: Prepared | None = None, signing: SigningRefs | None = None,
                  facts: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """`signing` (checked at start-up; None: disclosure disabled) and the run's `facts` sign each output."""
    from pyspark.sql import functions as F

    if plan_pdf.empty:
        return []
    plan_keys = spark.createDataFrame(plan_pdf[["video_id", "segment_index", "file_version"]])
    segs = (tables.segments.read(spark)
            .filter(F.col("config_hash") == chash)
            .join(plan_keys, on=["video_id", "segment_index", "file_version"], how="inner")
            .select("video_id", "segment_index", "file_version", "status", "error_class", "error_message",
                    "intermediate_uri", "intermediate_sha256", "window_start", "first_output",
                    "last_output", "restore_s", "read_s", "write_s", "frames_out", "run_id", "scores", "reused",
                    *EXECUTOR_PROVENANCE)
            .toPandas())
    plan_key = plan_pdf[["video_id", "segment_index", "file_version"]]
    segs = plan_key.merge(segs, on=["video_id", "segment_index", "file_version"], how="left")
    report.segments = segs
    this_run = segs["run_id"] == report.run_id
    reused = this_run & segs["reused"].astype("boolean").fillna(False).astype(bool)
    restored = this_run & (segs["status"] == "ok") & ~reused
    report.restored_segments = int(restored.sum())
    report.reused_segments = int(reused.sum())
    report.failed_segments = int((this_run & (segs["status"] == "failed")).sum())
    report.frames_restored = int(segs.loc[restored, "frames_out"].fillna(0).sum())
    report.restore_s = float(segs.loc[this_run & ~reused, "restore_s"].fillna(0).sum())
    meta_by_id = sel_pdf.set_index("video_id")
    rows: list[dict[str, Any]] = []
    to_stitch = []
    # Per video, what its segment rows say (ok count, executor provenance): counted once, used again below
    # for the stitched rows.
    from_segments: dict[str, dict[str, Any]] = {}
    for vid, g in segs.groupby("video_id", sort=True):
        m = meta_by_id.loc[vid]
        from_segments[vid] = {"segments_ok": int((g["status"] == "ok").sum()), **_executor_provenance(g)}
        base = {"video_id": vid, "preset": cfg.model.preset, "config_hash": chash,
                "file_version": g["file_version"].iloc[0], "uri": m["uri"], "content_class": m["content_class"],
                "num_segments": len(g), "segments_failed": int((g["status"] == "failed").sum()),
                "restore_s": float(g["restore_s"].fillna(0).sum()), **from_segments[vid]}
        if base["segments_failed"]:
            f = g[g["status"] == "failed"].iloc[0]
            rows.append({**base, "status": "failed", "error_class": f["error_class"],
                         "error_message": f"segment {int(f['segment_index'])}: {f['error_message']}"})
        elif base["segments_ok"] == len(g):
            seg_list = g[["segment_index", "window_start", "first_output", "last_output", "intermediate_uri",
                          "intermediate_sha256"]]
            applied = (prepared.records.get(vid) or {}).get("applied", []) if prepared is not None else []
            to_stitch.append({**{k: base[k] for k in ("video_id", "uri", "content_class", "file_version",
                                                          "restore_s")},
                              "segments_json": seg_list.to_json(orient="records"),
                              "weights_sha256": base.get("weights_sha256") or "", "applied_json": json.dumps(list(applied))})
    if to_stitch:
        # A prepared video is stitched from its mezzanine's frames and timestamps (info_json), with the
        # original's audio and subtitles (source_info_json) and its bars put back (canvas_json).
        infos = videos.select("video_id", "info_json", F.col("info_json").alias("source_info_json"), "size_bytes")
        if prepared is not None:
            infos = apply_overrides(spark, infos, prepared, info="info_json")
        stitch_in = spark.createDataFrame(pd.DataFrame(to_stitch)).join(infos, on="video_id", how="inner")
        settings = StitchSettings(preset=cfg.model.preset, config_hash=chash,
                                  output_root=cfg.storage.output_root, encode=cfg.encode.model_dump(),
                                  decode=DecodeLimits(cfg.execution.decode_timeout_s, cfg.execution.decode_window_mb,
                                                      cfg.execution.decode_max_memory_mb),
                                  # On the embedded engine the stitch tasks share the driver's cores.
                                  concurrent_tasks=(min(cfg.execution.stitch_slots, len(to_stitch))
                                                    if cfg.engine.kind == "sail" else 1),
                                  signing=signing, facts=facts or {})
        slots = max(1, min(cfg.execution.stitch_slots, len(to_stitch)))
        with progress_bars.bar("videos", len(to_stitch), show_progress) as bar:
            with bar.follow():
                out = (stitch_in.repartition(slots, "video_id")
                       .mapInPandas(StitchVideos(settings), StitchVideos.output_schema).toPandas())
            bar.set(len(to_stitch))
        for r in out.to_dict(orient="records"):
            r.update(from_segments[r["video_id"]])
            rows.append(r)
    return rows


def _executor_provenance(g: pd.DataFrame) -> dict[str, Any]:
    """The weights digest and device type the video's segments reported (the most common value)."""
    out: dict[str, Any] = {}
    for col in EXECUTOR_PROVENANCE:
        vals = g[col].dropna() if col in g else pd.Series(dtype=object)
        if len(vals):
            out[col] = str(vals.mode().iloc[0])
    return out
