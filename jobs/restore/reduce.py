"""The reducer on the driver side: per video, all segments ok -> stitch on executors; any failed ->
a failed restoration row. The segments are grouped by video in Spark: one row per video (counts, first
failure, provenance) reaches the driver, never a row per segment, and frames never do.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pandas as pd

from jobs.config import JobConfig
from jobs.restore import progress_bars
from jobs.restore.prepare import Prepared, apply_overrides
from jobs.restore.waves import PLAN_KEY
from jobs.schemas import EXECUTOR_PROVENANCE
from jobs.tables import Tables
from seedvr.provenance.signing import SigningRefs
from seedvr.video.decode import DecodeLimits
from udfs.arrow_stage import map_stage
from udfs.stitch import StitchSettings, StitchVideos

if TYPE_CHECKING:
    from jobs.restore.pipeline import RestoreReport


# Per video, what its segment rows hold; one row per video comes back to the driver.
VIDEO_COUNTS = ("num_segments", "segments_ok", "segments_failed", "restore_s", "run_restored", "run_reused",
                "run_failed", "run_frames", "run_restore_s", "run_io_s")
SEGMENT_LIST = ("segment_index", "window_start", "first_output", "last_output", "intermediate_uri",
                "intermediate_sha256")


def video_segments(plan: Any, segments: Any, run_id: str) -> Any:
    """One row per planned video: counts of its segments' results, this run's share of them, the first
    failure, the most common executor provenance, and its segment list as JSON (in segment order)."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    segs = segments.select(*PLAN_KEY, "status", "error_class", "error_message", "run_id", "reused", "restore_s",
                           "read_s", "write_s", "frames_out", *EXECUTOR_PROVENANCE,
                           *(c for c in SEGMENT_LIST if c != "segment_index"))
    # A planned segment without a result row counts toward num_segments only: its video is not stitched.
    rows = plan.select(*PLAN_KEY).join(segs, on=PLAN_KEY, how="left")
    ok, failed = F.col("status") == "ok", F.col("status") == "failed"
    this_run = F.coalesce(F.col("run_id") == F.lit(run_id), F.lit(False))
    reused = this_run & F.coalesce(F.col("reused"), F.lit(False))
    restored = this_run & ok & ~reused

    def n(cond: Any) -> Any:
        return F.sum(F.when(cond, 1).otherwise(0))

    def total(cond: Any, col: Any) -> Any:
        return F.sum(F.when(cond, F.coalesce(col, F.lit(0))).otherwise(0))

    per_video = rows.groupBy("video_id").agg(
        F.max("file_version").alias("file_version"),
        F.count(F.lit(1)).alias("num_segments"), n(ok).alias("segments_ok"), n(failed).alias("segments_failed"),
        F.sum(F.coalesce(F.col("restore_s"), F.lit(0.0))).alias("restore_s"),
        n(restored).alias("run_restored"), n(reused).alias("run_reused"), n(this_run & failed).alias("run_failed"),
        total(restored, F.col("frames_out")).alias("run_frames"),
        total(this_run & ~reused, F.col("restore_s")).cast("double").alias("run_restore_s"),
        total(this_run, F.coalesce(F.col("read_s"), F.lit(0.0)) + F.coalesce(F.col("write_s"), F.lit(0.0)))
        .cast("double").alias("run_io_s"),
        *(F.mode(c).alias(c) for c in EXECUTOR_PROVENANCE),
        F.to_json(F.array_sort(F.collect_list(F.struct(*SEGMENT_LIST)))).alias("segments_json"),
    )
    by_index = Window.partitionBy("video_id").orderBy("segment_index")
    first_failure = (rows.filter(failed).withColumn("_rn", F.row_number().over(by_index)).filter("_rn = 1")
                     .select("video_id", F.col("error_class").alias("failed_class"),
                             F.concat(F.lit("segment "), F.col("segment_index").cast("string"), F.lit(": "),
                                      F.coalesce(F.col("error_message"), F.lit(""))).alias("failed_message")))
    return per_video.join(first_failure, on="video_id", how="left")


def reduce_videos(spark: Any, cfg: JobConfig, tables: Tables, plan: Any, sel_pdf: pd.DataFrame,
                  chash: str, videos: Any, report: RestoreReport, show_progress: bool,
                  prepared: Prepared | None = None, signing: SigningRefs | None = None,
                  facts: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """`plan`: this run's plan rows (a Spark DataFrame; None: nothing planned). `signing` (checked at
    start-up; None: disclosure disabled) and the run's `facts` sign each output."""
    from pyspark.sql import functions as F

    if plan is None:
        return []
    per_video = video_segments(plan, tables.segments.read(spark).filter(F.col("config_hash") == chash),
                               report.run_id)
    vids = per_video.drop("segments_json").toPandas()
    if vids.empty:
        return []
    report.restored_segments = int(vids["run_restored"].sum())
    report.reused_segments = int(vids["run_reused"].sum())
    report.failed_segments = int(vids["run_failed"].sum())
    report.frames_restored = int(vids["run_frames"].sum())
    report.restore_s = float(vids["run_restore_s"].sum())
    report.segment_io_s = float(vids["run_io_s"].sum())
    meta_by_id = sel_pdf.set_index("video_id")
    rows: list[dict[str, Any]] = []
    # Per video, what its segment rows say (ok count, executor provenance): used again for the stitched rows.
    from_segments: dict[str, dict[str, Any]] = {}
    stitch_ids: list[str] = []
    for v in vids.sort_values("video_id").itertuples(index=False):
        m = meta_by_id.loc[v.video_id]
        from_segments[v.video_id] = {"segments_ok": int(v.segments_ok),
                                     **{c: str(getattr(v, c)) for c in EXECUTOR_PROVENANCE
                                        if isinstance(getattr(v, c), str)}}
        base = {"video_id": v.video_id, "preset": cfg.model.preset, "config_hash": chash,
                "file_version": v.file_version, "uri": m["uri"], "content_class": m["content_class"],
                "num_segments": int(v.num_segments), "segments_failed": int(v.segments_failed),
                "restore_s": float(v.restore_s), **from_segments[v.video_id]}
        if base["segments_failed"]:
            rows.append({**base, "status": "failed", "error_class": v.failed_class,
                         "error_message": v.failed_message})
        elif base["segments_ok"] == base["num_segments"]:
            stitch_ids.append(v.video_id)
    if stitch_ids:
        rows += _stitch(spark, cfg, per_video, stitch_ids, videos, prepared, signing, facts, chash, show_progress,
                        from_segments)
    return rows


def _stitch(spark: Any, cfg: JobConfig, per_video: Any, ids: list[str], videos: Any, prepared: Prepared | None,
            signing: SigningRefs | None, facts: dict[str, Any] | None, chash: str, show_progress: bool,
            from_segments: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Stitch the complete videos on executors; their segment lists go from the segments table to the
    stitch tasks without visiting the driver."""
    from pyspark.sql import functions as F

    # A prepared video is stitched from its mezzanine's frames and timestamps (info_json), with the
    # original's audio and subtitles (source_info_json) and its bars put back (canvas_json).
    infos = videos.select("video_id", "info_json", F.col("info_json").alias("source_info_json"), "size_bytes")
    applied_json = F.lit("[]")
    if prepared is not None:
        infos = apply_overrides(spark, infos, prepared, info="info_json")
        applied = [{"video_id": v, "applied_json": json.dumps(list(rec.get("applied", [])))}
                   for v, rec in prepared.records.items()]
        if applied:
            infos = infos.join(spark.createDataFrame(pd.DataFrame(applied)), on="video_id", how="left")
            applied_json = F.coalesce(F.col("applied_json"), F.lit("[]"))
    complete = (F.col("segments_failed") == 0) & (F.col("segments_ok") == F.col("num_segments"))
    stitch_in = (per_video.filter(complete)
                 .select("video_id", "file_version", "restore_s", "segments_json",
                         F.coalesce(F.col("weights_sha256"), F.lit("")).alias("weights_sha256"))
                 .join(videos.select("video_id", "uri", "content_class"), on="video_id", how="inner")
                 .join(infos, on="video_id", how="inner")
                 .withColumn("applied_json", applied_json))
    settings = StitchSettings(preset=cfg.model.preset, config_hash=chash,
                              output_root=cfg.storage.output_root, encode=cfg.encode.model_dump(),
                              decode=DecodeLimits(cfg.execution.decode_timeout_s, cfg.execution.decode_window_mb,
                                                  cfg.execution.decode_max_memory_mb),
                              # On the embedded engine the stitch tasks share the driver's cores.
                              concurrent_tasks=(min(cfg.execution.stitch_slots, len(ids))
                                                if cfg.engine.kind == "sail" else 1),
                              signing=signing, facts=facts or {}, score=cfg.execution.video_scores)
    slots = max(1, min(cfg.execution.stitch_slots, len(ids)))
    with progress_bars.bar("videos", len(ids), show_progress) as bar:
        with bar.follow():
            out = map_stage(stitch_in.repartition(slots, "video_id"), StitchVideos(settings),
                            StitchVideos.output_schema).toPandas()
        bar.set(len(ids))
    rows = []
    for r in out.to_dict(orient="records"):
        r.update(from_segments[r["video_id"]])
        rows.append(r)
    return rows
