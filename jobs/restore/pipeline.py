"""The restore job on the driver: select, plan, restore in waves (stage then MERGE), stitch, record.

Resume and idempotency come from three rules: (1) a segment result is appended to the staging table and
then MERGEd by key (video, config hash, segment) into segment_results, and a run first MERGEs any staged
rows an interrupted run left behind; (2) segments already `ok` for the same config hash and file version
are never planned again; (3) every file is written atomically at a key that is a function of the row.
Killing the job anywhere and running it again therefore converges to the tables of an uninterrupted run.

The plan stays on the executors: the planner's rows, with the wave of each segment still to do
(jobs.restore.waves), are written by executors to the run's own plan table and MERGEd from there into
segment_plan; each wave filters that table. Only planning failures, counts per wave and one row per video
ever reach the driver, so a plan of millions of segments costs the driver no memory and no Spark Connect
message grows with it.

The reducer is an executor stage over one metadata row per complete video (udfs.stitch), not a driver loop:
stitching decodes and encodes every frame, so it belongs on executors, in parallel over videos, next to
the storage; the stitcher streams segments, so no task holds a whole video. Its few result rows come back
to the driver and are MERGEd from a local DataFrame (MERGE reads its source twice; re-running the stitch
stage as a MERGE source would encode every video twice).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from jobs.config import JobConfig, config_hash
from jobs.provenance import Provenance, make_provenance, new_run_id
from jobs.restore import progress_bars
from jobs.restore.disclosure import TEST_CERTIFICATE_NOTE, signing_refs
from jobs.restore.dry_run import DryRun, estimate
from jobs.restore.maintenance import maintain_tables
from jobs.restore.prepare import Prepared, apply_overrides, prepare_sources
from jobs.restore.reduce import reduce_videos
from jobs.restore.scratch import free_intermediates
from jobs.restore.selection import Selection, apply_selection, nothing_selected
from jobs.restore.staging import (
    check_output_writable,
    maybe_kill,
    merge_staged,
    recover_staged,
)
from jobs.restore.wave_cost import WaveSizing, wave_sizing
from jobs.restore.waves import (
    PLAN_KEY,
    drop_run_plan,
    drop_table,
    estimate_waves,
    mark_todo,
    planned_once,
    planner_output_ref,
    record_plan,
    todo_by_video,
)
from jobs.schemas import EXECUTOR_PROVENANCE, RESTORATIONS, SEGMENT_RESULTS
from jobs.tables import Tables, commit_metadata, conform, ensure_tables, merge_frame, table_refs
from jobs.weights import weights_identity
from seedvr.errors import SeedVRError
from seedvr.video.decode import DecodeLimits
from seedvr.video.intermediate import codec_for_root
from seedvr.video.storage import join_url
from udfs.arrow_stage import map_stage
from udfs.model_cache import ModelSpec
from udfs.plan import PlanSegments
from udfs.restore_segments import RestoreSegments, RestoreSettings
from udfs.schemas import frame_for, utc_now

# Failures that only a new version of the file can change: not retried until the file changes (or --force).
# Everything else (missing, permission, timeout, oom, internal, ...) is retried by the next run.
PERMANENT_INPUT_ERRORS = ("corrupt", "crash", "truncated", "unsupported_codec", "no_video_stream", "too_large",
                          "bad_timestamps", "not_a_file")

class JobAborted(SeedVRError):
    """Every segment of the first wave failed for a configuration cause (bad weights, bad preset)."""

    error_class = "config"


@dataclass
class RestoreReport:
    run_id: str
    config_hash: str
    provenance: Provenance
    selection: str
    selected: int = 0
    planned_segments: int = 0
    skipped_segments: int = 0
    restored_segments: int = 0
    # Finished by an interrupted run (file and receipt verified) and taken as they were.
    reused_segments: int = 0
    # Scratch space given back after the outputs were committed (segment files and receipts).
    freed_bytes: int = 0
    freed_videos: int = 0
    failed_segments: int = 0
    recovered_segments: int = 0
    videos_ok: int = 0
    videos_failed: int = 0
    frames_restored: int = 0
    restore_s: float = 0.0
    wall_s: float = 0.0
    stage_s: dict[str, float] = field(default_factory=dict)
    restorations: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Seconds this run's segments spent reading frames and writing intermediates (summed on executors).
    segment_io_s: float = 0.0
    message: str = ""
    mlflow_run_id: str | None = None
    # The thread budget of a restore task on this machine (seedvr.threads), recorded in MLflow.
    threads: dict[str, int] = field(default_factory=dict)
    # How outputs are signed: "disabled", "configured" or "test certificate" (recorded in MLflow).
    disclosure: str = "disabled"
    # End-of-run compaction and vacuum of the tables (jobs/restore/maintenance.py).
    maintenance: list[Any] = field(default_factory=list)
    # Per wave: its segments, the seconds of its restore tasks and staging append, and of its MERGE.
    wave_costs: list[dict[str, float]] = field(default_factory=list)
    # How the waves were sized (target, rate, expected seconds of each wave).
    wave_sizing: WaveSizing | None = None
    # The lossless codec of this run's segment files (storage.intermediate_codec resolved for the root).
    intermediate_codec: str = "utvideo"
    # Set by a dry run: what the run would do (nothing was restored or written).
    dry_run: DryRun | None = None


@contextlib.contextmanager
def _timed(report: RestoreReport, name: str) -> Iterator[None]:
    t0 = time.perf_counter()
    try:
        yield
    finally:
        report.stage_s[name] = report.stage_s.get(name, 0.0) + time.perf_counter() - t0


def _provenance_cols(prov: Provenance) -> dict[str, Any]:
    cols = prov.columns()
    for executor_side in EXECUTOR_PROVENANCE:
        cols.pop(executor_side)
    return cols


def _with_literals(df: Any, values: dict[str, Any]) -> Any:
    from pyspark.sql import functions as F

    for k, v in values.items():
        df = df.withColumn(k, F.lit(v))
    return df


def run_restore(
    spark: Any,
    cfg: JobConfig,
    selection: Selection,
    *,
    engine: str = "sail",
    run_id: str | None = None,
    job_id: str | None = None,
    job_run_id: str | None = None,
    show_progress: bool = False,
    track: bool | None = None,
    log: Callable[[str], None] = lambda _m: None,
    dry_run: bool = False,
) -> RestoreReport:
    """Restore the selected catalog rows; returns counts, this run's rows and timings.

    `dry_run` selects and plans (on executors) and returns `report.dry_run`; it restores, records and
    deletes nothing (it only creates missing tables, empty).
    """
    from pyspark.sql import functions as F

    t_start = time.perf_counter()
    started_at = utc_now()
    run_id = run_id or new_run_id()
    tables = table_refs(cfg.tables)
    w_id, w_sha = weights_identity(cfg.model.weights, cfg.model.weights_sha256)
    chash = config_hash(cfg, w_id)
    prov = make_provenance(run_id=run_id, preset=cfg.model.preset, weights=cfg.model.weights,
                           weights_sha256=w_sha, config_hash=chash, engine=engine,
                           job_id=job_id, job_run_id=job_run_id)
    report = RestoreReport(run_id=run_id, config_hash=chash, provenance=prov, selection=selection.describe())
    from seedvr.threads import plan_threads

    report.threads = plan_threads(tasks=restore_concurrency(cfg), torch=cfg.execution.torch_threads).as_dict()
    report.intermediate_codec = codec_for_root(join_url(cfg.storage.output_root, "segments"),
                                               cfg.storage.intermediate_codec)
    meta = commit_metadata(prov.to_dict(), operation="restore")

    with _timed(report, "setup"):
        # Seconds, before any task: a typo'd preset or missing weights must not fail a whole wave.
        validate_model(cfg)
        signing = signing_refs(cfg) if not dry_run else None
        if signing is not None:
            report.disclosure = "test certificate" if signing.test_only else "configured"
        ensure_tables(spark, tables)
        check_output_writable(cfg.storage.output_root)
        if not dry_run:
            report.recovered_segments = recover_staged(spark, tables, chash, meta)

    # 1. select: criteria, then drop videos already restored for this config and file version.
    with _timed(report, "select"):
        videos = tables.videos.read(spark)
        selected = apply_selection(spark, videos, selection)
        if not selection.force:
            final = (F.col("status") == "ok") | (
                (F.col("status") == "failed") & F.col("error_class").isin(list(PERMANENT_INPUT_ERRORS)))
            done = (tables.restorations.read(spark)
                    .filter((F.col("config_hash") == chash) & final)
                    .select("video_id", "file_version"))
            selected = selected.join(done, on=["video_id", "file_version"], how="left_anti")
        if selection.limit:
            selected = selected.orderBy("video_id").limit(selection.limit)
        sel_pdf = selected.select("video_id", "uri", "content_class", "file_version", "probe_status",
                                  "error_class", "error_message", "num_frames", "width", "height",
                                  "bit_depth", "analysis_json").toPandas()
    report.selected = len(sel_pdf)
    if sel_pdf.empty:
        report.message = nothing_selected(videos, selection, tables.videos.label, cfg.profile)
        report.wall_s = time.perf_counter() - t_start
        return report
    log(f"selected {len(sel_pdf)} videos ({selection.describe()}), config {chash}")
    if signing is not None and signing.test_only:
        log(TEST_CERTIFICATE_NOTE)

    restoration_rows: list[dict[str, Any]] = []
    # 2. videos whose probe failed get a failed restoration row at once.
    bad = sel_pdf[sel_pdf["probe_status"] != "ok"]
    for r in bad.itertuples(index=False):
        restoration_rows.append({
            "video_id": r.video_id, "preset": cfg.model.preset, "config_hash": chash,
            "file_version": r.file_version, "uri": r.uri, "content_class": r.content_class,
            "status": "failed", "error_class": r.error_class or "probe",
            "error_message": f"probe failed: {r.error_message}", "num_segments": 0,
            "segments_ok": 0, "segments_failed": 0,
        })
    # 2b. archive sources whose analysis calls for it (interlaced, telecined, boxed, anamorphic) are
    # rewritten once as mezzanines on executors; the later stages restore those instead.
    prepared = Prepared()
    if not dry_run:
        with _timed(report, "prepare"):
            prepared = prepare_sources(spark, cfg, selected, sel_pdf)
    meta_rows = sel_pdf.set_index("video_id")
    for f in prepared.failures:
        m = meta_rows.loc[f["video_id"]]
        restoration_rows.append({
            "video_id": f["video_id"], "preset": cfg.model.preset, "config_hash": chash,
            "file_version": m["file_version"], "uri": m["uri"], "content_class": m["content_class"],
            "status": "failed", "error_class": f["error_class"], "error_message": f["error_message"],
            "num_segments": 0, "segments_ok": 0, "segments_failed": 0,
        })
    unprepared = {f["video_id"] for f in prepared.failures}
    good_ids = [v for v in sel_pdf.loc[sel_pdf["probe_status"] == "ok", "video_id"] if v not in unprepared]

    # 3. plan on executors, record the plan with the waves of the segments still to do (in Spark: only
    # planning failures and counts come back to the driver).
    plan = None
    waves: list[int] = []
    todo_count = 0
    by_video = pd.DataFrame(columns=["video_id", "planned", "segments", "frames"])
    dry_waves = None
    with _timed(report, "plan"):
        if good_ids:
            ok = F.col("probe_status") == "ok"
            if unprepared:
                ok = ok & ~F.col("video_id").isin(sorted(unprepared))
            good = apply_overrides(spark, selected.filter(ok).select(
                "video_id", "uri", "file_version", "num_frames", "analysis_json"), prepared).drop("canvas_json")
            planner = PlanSegments(cfg.segments.segment_frames, cfg.segments.context_frames, chash,
                                   split_at_cuts=cfg.segments.split_at_cuts)
            planned = planned_once(spark, tables, map_stage(good, planner, PlanSegments.output_schema), run_id,
                                   meta)
            plan_err = (planned.filter(F.col("segment_index") < 0)
                        .select("video_id", "file_version", "uri", "error_class", "error_message").toPandas())
            for r in plan_err.itertuples(index=False):
                restoration_rows.append({
                    "video_id": r.video_id, "preset": cfg.model.preset, "config_hash": chash,
                    "file_version": r.file_version, "uri": r.uri, "status": "failed",
                    "error_class": r.error_class, "error_message": f"planning failed: {r.error_message}",
                })
            plan = planned.filter(F.col("segment_index") >= 0).drop("error_class", "error_message")
            # A forced video is planned whole: its segment files may have been freed after it was committed,
            # and receipts reuse those that were not.
            done = None if selection.force else (
                tables.segments.read(spark)
                .filter((F.col("config_hash") == chash) & (F.col("status") == "ok")).select(*PLAN_KEY))
            plan = mark_todo(plan, done)
            if dry_run:
                try:
                    by_video = todo_by_video(plan).toPandas()
                    dry_waves = estimate_waves(plan, spark, tables, wave_sizing(spark, tables, cfg, chash))
                finally:
                    drop_run_plan(spark, tables, run_id)
                report.planned_segments = int(by_video["planned"].sum())
                todo_count = int(by_video["segments"].sum())
            else:
                plan, report.planned_segments, waves, report.wave_sizing = record_plan(
                    spark, tables, plan, sizing=wave_sizing(spark, tables, cfg, chash), run_id=run_id, meta=meta,
                    log=log)
                # The planner's output has served (failures, this plan): the run reads its own plan from here.
                drop_table(spark, planner_output_ref(tables, run_id))
                todo_count = sum(waves)
        report.skipped_segments = report.planned_segments - todo_count
    if dry_run:
        from seedvr.checkpoints.presets import get_preset
        from seedvr.restorer.target import TargetSize

        t = cfg.model.target
        report.dry_run = estimate(sel_pdf, by_video, planned=report.planned_segments,
                                  target=TargetSize(t.mode, t.value, t.multiple),
                                  waves=dry_waves or wave_sizing(spark, tables, cfg, chash),
                                  preset=cfg.model.preset, weights=cfg.model.weights,
                                  gpu_memory_gb=get_preset(cfg.model.preset).min_gpu_memory_gb or None,
                                  prepare=cfg.prepare.options(), codec=report.intermediate_codec)
        report.message = f"dry run: {todo_count} segments of {report.selected} videos would be restored"
        report.wall_s = time.perf_counter() - t_start
        return report

    # 4. restore in waves: UDF -> staging append -> MERGE.
    settings = RestoreSettings(
        model=ModelSpec.make(cfg.model.preset, cfg.model.weights, cfg.model.dtype, cfg.model.attention,
                             _model_options(cfg)),
        config_hash=chash, output_root=cfg.storage.output_root, seed=cfg.model.seed,
        target=(cfg.model.target.mode, cfg.model.target.value, cfg.model.target.multiple),
        device=cfg.model.device, tasks_per_gpu=cfg.execution.tasks_per_gpu,
        torch_threads=cfg.execution.torch_threads,
        concurrent_tasks=restore_concurrency(cfg),
        # Mezzanines are the job's own files, under the output root.
        source_roots=(*cfg.ingest.source_roots, *((join_url(cfg.storage.output_root, "prepared"),)
                                                  if prepared.records else ())),
        decode=DecodeLimits(cfg.execution.decode_timeout_s, cfg.execution.decode_window_mb,
                            cfg.execution.decode_max_memory_mb),
        intermediate_codec=report.intermediate_codec,
        score=cfg.execution.segment_scores,
    )
    infos = apply_overrides(spark, videos.select("video_id", "info_json", "source_root"), prepared,
                            info="info_json")
    try:
        with _timed(report, "restore"):
            _restore_waves(spark, cfg, tables, plan, waves, RestoreSegments(settings), infos,
                           {**_provenance_cols(prov), "run_id": run_id}, meta, show_progress, report.wave_costs)
        # 5. reduce: per video, all segments ok -> stitch; any failed -> failed row.
        with _timed(report, "stitch"):
            restoration_rows += reduce_videos(spark, cfg, tables, plan, sel_pdf, chash, videos, report,
                                              show_progress, prepared, signing, provenance_facts(cfg, prov))
    finally:
        if plan is not None:
            drop_run_plan(spark, tables, run_id)
    finished_at = utc_now()
    analyses = dict(zip(sel_pdf["video_id"], sel_pdf["analysis_json"], strict=True))
    for r in restoration_rows:
        r["analysis_json"] = analyses.get(r["video_id"])
        r["archive_applied"] = archive_applied(r["analysis_json"], cfg, prepared.records.get(r["video_id"]))
        r.update({k: v for k, v in prov.columns().items()
                  if k not in EXECUTOR_PROVENANCE or not r.get(k)})
        r.update(started_at=started_at, finished_at=finished_at)
    res_pdf = frame_for(restoration_rows, RESTORATIONS)
    with _timed(report, "record"):
        if len(res_pdf):
            merge_frame(spark, tables.restorations, res_pdf, RESTORATIONS,
                        update_when="s.status = 'ok' OR t.status <> 'ok' OR t.file_version <> s.file_version",
                        user_metadata=meta)
    if not cfg.storage.keep_intermediates and len(res_pdf):
        with _timed(report, "cleanup"):
            freed = free_intermediates(spark, cfg.storage.output_root, chash, res_pdf[res_pdf["status"] == "ok"],
                                       cfg.execution.stitch_slots,
                                       {v: rec["url"] for v, rec in prepared.records.items()})
        report.freed_bytes, report.freed_videos = freed.bytes, freed.videos
        for line in freed.errors[:5]:
            log(f"warning: segment files left behind for {line}")
    if cfg.tables.compact:
        with _timed(report, "maintenance"):
            report.maintenance = maintain_tables(spark, tables, cfg.tables, log)
    report.restorations = res_pdf
    report.videos_ok = int((res_pdf["status"] == "ok").sum())
    report.videos_failed = int((res_pdf["status"] == "failed").sum())
    report.wall_s = time.perf_counter() - t_start
    report.message = (f"{report.videos_ok} restored, {report.videos_failed} failed, "
                      f"{report.restored_segments} segments restored, {report.skipped_segments} skipped"
                      + (f", {report.reused_segments} reused from an interrupted run"
                         if report.reused_segments else ""))
    if track if track is not None else cfg.tracking.enabled:
        from jobs.tracking import log_restore_run

        with _timed(report, "mlflow"):
            report.mlflow_run_id = log_restore_run(cfg, report)
    return report


def provenance_facts(cfg: JobConfig, prov: Any) -> dict[str, Any]:
    """What every output of this run states about itself (seedvr.provenance.facts.RestorationFacts)."""
    from seedvr import __version__
    from seedvr.checkpoints.presets import get_preset

    preset = get_preset(cfg.model.preset)
    return {"software": "seedvr-lakehouse", "software_version": __version__, "code_version": prov.code_version,
            "preset": cfg.model.preset, "model": preset.description, "run_id": prov.run_id,
            "job_id": prov.job_id, "job_run_id": prov.job_run_id, "generative": not preset.is_identity}


def restore_concurrency(cfg: JobConfig) -> int:
    """Restores that run at once on one device, sharing its process's cores: the device gate admits
    `tasks_per_gpu` (on the embedded engine's CPU as on a GPU), so other slots wait rather than compete.
    Measured on 2 cores with tiny-v2 and 2 slots: giving each slot half the cores instead made the
    restore stage 1.5x slower in wall time for the same CPU time."""
    return max(1, cfg.execution.tasks_per_gpu)


def archive_applied(analysis_json: Any, cfg: JobConfig, record: dict[str, Any] | None = None) -> str | None:
    """What the job did about what the analysis found, as a JSON list for the restorations row."""
    import json

    if not isinstance(analysis_json, str) or not analysis_json:
        return None
    a = json.loads(analysis_json)
    done = list(record["applied"]) if record else []
    if cfg.segments.split_at_cuts and a.get("cuts"):
        done.append(f"segments bounded at {len(a['cuts'])} shot cut{'' if len(a['cuts']) == 1 else 's'}")
    return json.dumps(done)


def validate_model(cfg: JobConfig) -> None:
    """The preset, weights, target, dtype, attention, colour fix and VAE tile, checked on the driver."""
    from seedvr.defaults import validate_model_choice

    m = cfg.model
    validate_model_choice(m.preset, m.weights, target=(m.target.mode, m.target.value, m.target.multiple),
                          dtype=m.dtype, attention=m.attention, color_fix=m.colour_fix, vae_tile=m.vae_tile)


def _model_options(cfg: JobConfig) -> dict[str, Any]:
    """Sampling overrides for from_preset (the colour fix is one of them) and the VAE tile; none for the
    identity preset."""
    if cfg.model.preset == "identity":
        return {}
    opts: dict[str, Any] = dict(cfg.model.sampling)
    if cfg.model.colour_fix is not None:
        opts.setdefault("color_fix", cfg.model.colour_fix)
    if cfg.model.vae_tile is not None:
        opts["vae_tiling"] = cfg.model.vae_tile
    opts["compile"] = cfg.model.compile
    if cfg.model.fp8 != "dequantize":
        opts["fp8"] = cfg.model.fp8
    return opts


def _restore_waves(spark: Any, cfg: JobConfig, tables: Tables, plan: Any, waves: list[int], stage: RestoreSegments,
                   infos: Any, literals: dict[str, Any], meta: str, show_progress: bool,
                   costs: list[dict[str, float]] | None = None) -> None:
    """Each wave: its rows of the run's plan -> the restore UDF -> staging append -> MERGE. `costs` gets
    each wave's segments and seconds: restore tasks with the staging append, then the MERGE (the commit
    cost a wave adds, whatever its size)."""
    from pyspark.sql import functions as F

    staged_count = [0]
    with progress_bars.bar("segments", sum(waves), show_progress) as bar:
        for wave_no, size in enumerate(waves):
            if not size:
                continue
            staged_at = utc_now()
            keys_df = plan.filter(F.col("wave") == wave_no).select(
                "video_id", "uri", "file_version", "segment_index", "window_start", "first_output", "last_output")
            # Each task takes its segments in key order: videos then finish one after another, so an interrupted
            # run leaves whole videos' segments done rather than a scatter. Spark keeps a partition's sort into
            # the stage; Sail drops that sort but keeps the order of a sorted, limited input (a top-k of the
            # wave's rows, at most wave_segments) through the hash repartition.
            seg_in = (keys_df.join(infos, on="video_id", how="inner")
                      .orderBy("video_id", "segment_index").limit(size))
            slots = max(1, min(cfg.execution.gpu_slots, size))
            out = map_stage(seg_in.repartition(slots, "video_id", "segment_index")
                            .sortWithinPartitions("video_id", "segment_index"), stage, RestoreSegments.output_schema)
            out = _with_literals(out, {**literals, "staged_at": staged_at})
            t0 = time.perf_counter()
            with bar.follow():
                tables.segment_staging.append(conform(out, SEGMENT_RESULTS), user_metadata=meta)
            maybe_kill(staged_count)
            t1 = time.perf_counter()
            staged = tables.segment_staging.read(spark).filter(
                (F.col("run_id") == literals["run_id"]) & (F.col("staged_at") == F.lit(staged_at)))
            merge_staged(spark, tables, staged, meta)
            if costs is not None:
                costs.append({"segments": size, "restore_append_s": t1 - t0, "merge_s": time.perf_counter() - t1})
            bar.set(size)
            if wave_no == 0:
                _abort_if_config_failure(staged, cfg)


def _abort_if_config_failure(staged: Any, cfg: JobConfig) -> None:
    """Raise when every staged row failed with a configuration class (aggregates; one row comes back)."""
    from pyspark.sql import functions as F

    classes = list(cfg.execution.abort_on_error_classes)
    config_failed = (F.col("status") == "failed") & F.col("error_class").isin(classes)
    first = F.min(F.when(config_failed, F.struct("error_class", "error_message")))
    counts = staged.agg(F.count(F.lit(1)).alias("n"), F.sum(F.when(config_failed, 1).otherwise(0)).alias("bad"),
                        first.alias("first")).collect()[0]
    if counts["n"] and counts["bad"] == counts["n"]:
        raise JobAborted(
            f"every segment of the first wave failed with {counts['first']['error_class']!r}: "
            f"{counts['first']['error_message']}. "
            "Nothing already restored was changed; fix the model settings (--preset/--weights) and rerun."
        )
