"""Where evaluation results go besides the report: one Delta table and one MLflow run (driver only).

The table holds one row per (evaluation run, video, restorer): headline scores as columns for SQL, every
score in a `scores` map so new metrics need no schema change, and errors/skipped/notes as text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jobs.config import JobConfig
from jobs.evaluate.core import HEADLINE
from jobs.tables import TableRef, conform, ensure_table, merge
from udfs.schemas import INT, SCORES, TS, D, L, S, struct, utc_now

EVALUATIONS = struct(
    ("eval_run_id", S), ("video_id", S), ("preset", S), ("content_class", S), ("lq_uri", S), ("hq_uri", S),
    ("num_frames", L), ("in_width", INT), ("in_height", INT), ("out_width", INT), ("out_height", INT),
    ("segments", INT), ("restore_s", D), ("score_s", D),
    *((c, D) for c in HEADLINE),
    ("scores", SCORES), ("score_errors", S), ("skipped", S), ("notes", S),
    ("error_class", S), ("error_message", S), ("restorer_info", S), ("settings", S),
    ("code_version", S), ("engine", S), ("mlflow_run_id", S), ("evaluated_at", TS),
)
KEYS = ("eval_run_id", "video_id", "preset")


def table_rows(
    rows: Sequence[Mapping[str, Any]], *, eval_run_id: str, extra: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Flat report rows -> table rows: numeric scores into `scores`, `<x>_error` texts into JSON."""
    now = utc_now()
    names = {f.name for f in EVALUATIONS.fields}
    out = []
    for r in rows:
        scores = {k: float(v) for k, v in r.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                  and k not in names and math.isfinite(float(v))}
        errors = {k: v for k, v in r.items() if k.endswith("_error") and k not in names}
        row = {k: v for k, v in r.items() if k in names}
        for c in HEADLINE:
            if isinstance(row.get(c), float) and not math.isfinite(row[c]):
                row[c] = None
        row.update(eval_run_id=eval_run_id, scores=scores, score_errors=json.dumps(errors) if errors else None,
                   evaluated_at=now, **extra)
        out.append(row)
    return out


def write_delta(spark: Any, ref: TableRef, rows: Sequence[Mapping[str, Any]]) -> None:
    """Create or evolve the table, then MERGE on (eval_run_id, video_id, preset): a retried run is harmless."""
    ensure_table(spark, ref, EVALUATIONS)
    data = [tuple(r.get(f.name) for f in EVALUATIONS.fields) for r in rows]
    df = conform(spark.createDataFrame(data, EVALUATIONS), EVALUATIONS)
    merge(spark, ref, df, keys=KEYS)


def _metric_key(*parts: str) -> str:
    # MLflow keys allow alphanumerics and _ - . space / : only.
    return "/".join(re.sub(r"[^A-Za-z0-9_.\-]", "_", p) for p in parts)


def log_mlflow(
    cfg: JobConfig,
    *,
    experiment: str,
    run_name: str,
    params: Mapping[str, Any],
    summary: Mapping[str, Mapping[str, float]],
    report_dir: Path,
    rows: Sequence[Mapping[str, Any]],
    tags: Mapping[str, str] | None = None,
) -> str:
    """One run (same store and artifact conventions as the restore job): parameters, `<preset>/<score>`
    means over videos, the report folder and a per-video table. Returns the run id."""
    import mlflow
    import pandas as pd

    from jobs.tracking import open_experiment

    exp_id = open_experiment(cfg, experiment)
    with mlflow.start_run(experiment_id=exp_id, run_name=run_name, tags=dict(tags or {})) as run:
        mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
        metrics = {_metric_key(p, k): v for p, s in summary.items() for k, v in s.items() if math.isfinite(v)}
        mlflow.log_metrics(metrics)
        mlflow.log_artifacts(str(report_dir), artifact_path="report")
        flat = pd.DataFrame([{k: v for k, v in r.items() if not isinstance(v, (dict, list))} for r in rows])
        mlflow.log_table(flat, artifact_file="evaluation_rows.json")
        return run.info.run_id
