"""MLflow, from the driver only: one run per job run with params, counts, throughput, score
distributions and artifacts (per-video score table, before/after frame strips).

The fluent API is not thread-safe and SQLite locks under concurrent writers, so UDFs never log: they
return numbers as columns and this module aggregates them. Params never carry credentials (URLs are
stripped of user info and query strings).
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd

from jobs.config import JobConfig
from seedvr.video.storage import sanitize_key_component

if TYPE_CHECKING:
    from jobs.restore.pipeline import RestoreReport

_SECRETY = re.compile(r"(key|secret|token|password|credential)", re.I)


def scrub_url(url: str | None) -> str | None:
    """Drop user:password@ and query strings (pre-signed URLs carry signatures there)."""
    if not url or "://" not in url:
        return url
    p = urlsplit(url)
    host = p.hostname or ""
    if p.port:
        host = f"{host}:{p.port}"
    return urlunsplit((p.scheme, host, p.path, "", ""))


def tracking_uri(cfg: JobConfig) -> str:
    if cfg.tracking.tracking_uri:
        return cfg.tracking.tracking_uri
    db = os.path.abspath(os.path.join(cfg.storage.work_dir, "mlflow.db"))
    os.makedirs(os.path.dirname(db), exist_ok=True)
    return f"sqlite:///{db}"


def _artifact_location(cfg: JobConfig) -> str | None:
    if cfg.tracking.artifact_location:
        return cfg.tracking.artifact_location
    if (cfg.tracking.tracking_uri or "sqlite").startswith("sqlite"):
        return os.path.abspath(os.path.join(cfg.storage.work_dir, "mlartifacts"))
    return None


def run_params(cfg: JobConfig, report: RestoreReport) -> dict[str, Any]:
    p = report.provenance
    params = {
        "profile": cfg.profile, "engine": p.engine, "preset": cfg.model.preset,
        "weights": scrub_url(cfg.model.weights), "weights_sha256": p.weights_sha256,
        "config_hash": report.config_hash, "code_version": p.code_version, "run_id": report.run_id,
        "job_id": p.job_id, "job_run_id": p.job_run_id, "segment_frames": cfg.segments.segment_frames,
        "context_frames": cfg.segments.context_frames, "target": cfg.model.target.model_dump_json(),
        "seed": cfg.model.seed, "colour_fix": cfg.model.colour_fix, "gpu_slots": cfg.execution.gpu_slots,
        "tasks_per_gpu": cfg.execution.tasks_per_gpu, "wave_segments": cfg.execution.wave_segments,
        "selection": report.selection[:500], "output_root": scrub_url(cfg.storage.output_root),
        "encode": cfg.encode.model_dump_json(), "device_type": p.device_type,
        "intermediate_codec": report.intermediate_codec, "video_scores": cfg.execution.video_scores,
        "segment_scores": cfg.execution.segment_scores,
        # How the outputs are signed; the key's location and material never reach MLflow.
        "disclosure": report.disclosure,
    }
    if report.wave_sizing is not None:  # how the waves were sized: target, rate and its source
        params.update(report.wave_sizing.params())
    for k, v in cfg.model.sampling.items():
        params[f"sampling.{k}"] = v
    for k, v in report.threads.items():  # the thread budget of a restore task (seedvr.threads)
        params[f"threads.{k}"] = v
    return {k: v for k, v in params.items() if v is not None and not _SECRETY.search(k)}


def run_metrics(cfg: JobConfig, report: RestoreReport) -> dict[str, float]:
    m: dict[str, float] = {
        "videos_selected": report.selected, "videos_ok": report.videos_ok,
        "videos_failed": report.videos_failed, "segments_planned": report.planned_segments,
        "segments_skipped": report.skipped_segments, "segments_restored": report.restored_segments,
        "segments_failed": report.failed_segments, "segments_recovered": report.recovered_segments,
        "frames_restored": report.frames_restored, "restore_s_total": report.restore_s,
        "wall_s": report.wall_s,
    }
    restore_wall = report.stage_s.get("restore", 0.0)
    if restore_wall > 0:
        m["frames_per_s_per_gpu"] = report.frames_restored / restore_wall / max(1, cfg.execution.gpu_slots)
    if report.restore_s > 0:
        m["model_frames_per_s"] = report.frames_restored / report.restore_s
    for stage, secs in report.stage_s.items():
        m[f"stage_s.{stage}"] = secs
    if report.wave_costs:  # the commit cost each wave adds beyond its restores
        merges = sorted(c["merge_s"] for c in report.wave_costs)
        m["waves"] = len(merges)
        m["wave_merge_s.median"] = merges[len(merges) // 2]
        m["wave_merge_s.total"] = sum(merges)
    if report.wave_sizing is not None:  # the restore seconds each wave was expected to take
        m.update(report.wave_sizing.metrics())
    for t in report.maintenance:  # files of each compacted table, before and after
        if not t.error and t.files_before != t.files_after:
            m[f"table_files.{t.table}.before"], m[f"table_files.{t.table}.after"] = t.files_before, t.files_after
    m.update(score_distribution(report.restorations))
    return {k: float(v) for k, v in m.items() if v is not None and np.isfinite(v)}


def score_table(restorations: pd.DataFrame) -> pd.DataFrame:
    """One row per video: id, status, class, error, then one column per score."""
    if restorations.empty:
        return pd.DataFrame()
    base = restorations[["video_id", "content_class", "status", "error_class", "output_uri"]].reset_index(drop=True)
    scores = pd.DataFrame([s if isinstance(s, dict) else {} for s in restorations["scores"]])
    return pd.concat([base, scores], axis=1)


def score_distribution(restorations: pd.DataFrame) -> dict[str, float]:
    """p5 / p50 / p95 / mean over the restored videos of every per-video score, as
    `score.<score>.<stat>_over_videos`: each video's own value is the restorations table's (and the
    per-video table's); these only summarise the run, and a mean over videos of a PSNR is a mean of dB."""
    table = score_table(restorations)
    out: dict[str, float] = {}
    if table.empty:
        return out
    ok = table[table["status"] == "ok"]
    for col in ok.columns[5:]:
        vals = pd.to_numeric(ok[col], errors="coerce").dropna().to_numpy()
        if len(vals):
            for q in (5, 50, 95):
                out[f"score.{col}.p{q}_over_videos"] = float(np.percentile(vals, q))
            out[f"score.{col}.mean_over_videos"] = float(vals.mean())
    return out


def _first_frame(url: str) -> np.ndarray | None:
    try:
        from seedvr.video.decode import DecodeLimits, read_frames_isolated
        from seedvr.video.probe import probe

        # The source is untrusted media: probe and decode it in the sandbox, as everywhere else.
        info = probe(url)
        mid = info.num_frames // 2
        return read_frames_isolated(url, mid, mid + 1, info, DecodeLimits())[0]
    except Exception:  # noqa: BLE001 - an artifact is nice to have, never a reason to fail the run
        return None


def open_experiment(cfg: JobConfig, name: str) -> str:
    """Point MLflow at the job's store and return the id of experiment `name`, creating it with the job's
    artifact location: restore and evaluation runs land in the same store by the same rules."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(cfg))
    exp = mlflow.get_experiment_by_name(name)
    if exp is None:
        return mlflow.create_experiment(name, artifact_location=_artifact_location(cfg))
    return exp.experiment_id


def run_window_ms(report: RestoreReport, now_s: float | None = None) -> tuple[int, int]:
    """(start, end) of the job in epoch milliseconds, for the MLflow run: the job's start (the earlier of
    its rows' `started_at` and now minus its measured wall time) and now, when the job has ended."""
    now = time.time() if now_s is None else now_s
    start = now - report.wall_s
    res = report.restorations
    if "started_at" in res and res["started_at"].notna().any():
        first = pd.Timestamp(res["started_at"].dropna().min())
        first = first.tz_localize("UTC") if first.tzinfo is None else first  # rows are naive UTC
        start = min(start, first.timestamp())
    return int(start * 1000), int(now * 1000)


def log_restore_run(cfg: JobConfig, report: RestoreReport) -> str | None:
    """Log one MLflow run for this job run, spanning the job itself (start and end time); returns its id."""
    import mlflow

    exp_id = open_experiment(cfg, cfg.tracking.experiment)
    tags = {"seedvr.run_id": report.run_id, "seedvr.config_hash": report.config_hash,
            "seedvr.engine": report.provenance.engine}
    if report.provenance.job_id:
        tags["mlflow.databricks.jobID"] = report.provenance.job_id
    if report.provenance.job_run_id:
        tags["mlflow.databricks.jobRunID"] = report.provenance.job_run_id
    client = mlflow.MlflowClient(tracking_uri(cfg))
    start_ms, _ = run_window_ms(report)
    # Created with the job's start time: a fluent start_run would date the run from this logging call.
    run_id = client.create_run(exp_id, start_time=start_ms, tags=tags,
                               run_name=f"restore-{report.run_id[:8]}").info.run_id
    with mlflow.start_run(run_id=run_id):
        mlflow.log_params(run_params(cfg, report))
        mlflow.log_metrics(run_metrics(cfg, report))
        table = score_table(report.restorations)
        if not table.empty:
            mlflow.log_table(table, artifact_file="scores/per_video.json")
        _log_strips(cfg, report)
    client.set_terminated(run_id, "FINISHED", end_time=run_window_ms(report)[1])
    return run_id


def _log_strips(cfg: JobConfig, report: RestoreReport) -> None:
    """Before/after frame strips of the first few restored videos (seedvr.quality.plots)."""
    import mlflow

    from seedvr.quality import plots

    ok = report.restorations[report.restorations["status"] == "ok"].head(cfg.tracking.strip_videos)
    with tempfile.TemporaryDirectory() as d:
        for r in ok.itertuples(index=False):
            before, after = _first_frame(r.uri), _first_frame(r.output_uri)
            if before is None or after is None:
                continue
            try:
                path = plots.frame_strip({"input": before[None], "restored": after[None]},
                                         os.path.join(d, f"{sanitize_key_component(r.video_id)}.png"), indices=[0])
                mlflow.log_artifact(str(path), artifact_path="strips")
            except Exception:  # noqa: BLE001 - an artifact is never a reason to fail the run
                continue


def log_ingest_run(cfg: JobConfig, report: Any, source: str) -> str:
    """One MLflow run per ingest: counts, and every skipped file with its reason (`skipped.json`)."""
    import mlflow

    exp_id = open_experiment(cfg, cfg.tracking.experiment)
    with mlflow.start_run(experiment_id=exp_id, run_name=f"ingest-{report.run_id[:8]}",
                          tags={"seedvr.run_id": report.run_id, "seedvr.operation": "ingest"}) as run:
        mlflow.log_param("source", scrub_url(source))
        mlflow.log_metrics({k: float(getattr(report, k)) for k in
                            ("listed", "new", "changed", "unchanged", "probed_ok", "probed_failed")}
                           | {"skipped": float(len(report.skipped))})
        mlflow.log_dict({"skipped": [{"uri": scrub_url(u), "reason": why} for u, why in report.skipped]},
                        "skipped.json")
        return run.info.run_id
