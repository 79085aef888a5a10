"""The prepare stage on the driver side: which selected videos need a mezzanine (decided from their
catalog analysis, on the driver, in microseconds), their mezzanines written on executors
(udfs.prepare), and the column overrides that make the later stages restore the mezzanine instead."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from jobs.config import JobConfig
from udfs.arrow_stage import map_stage
from udfs.prepare import INPUT_COLUMNS, PrepareSources


def needs_preparation(analysis_json: Any, options: Any) -> bool:
    """Whether the analysis calls for a mezzanine under `options` (None: preparation off)."""
    if options is None or not isinstance(analysis_json, str) or not analysis_json:
        return False
    from seedvr.video.analysis import Analysis
    from seedvr.video.prepare import plan_preparation

    return plan_preparation(Analysis.from_dict(json.loads(analysis_json)), options).needed


@dataclass
class Prepared:
    records: dict[str, dict[str, Any]] = field(default_factory=dict)  # video id -> udfs.prepare record
    failures: list[dict[str, Any]] = field(default_factory=list)  # (video_id, error_class, error_message)
    _frame: Any = field(default=None, repr=False)  # the overrides as an engine DataFrame, uploaded once

    def overrides_frame(self, spark: Any) -> Any:
        """`overrides()` as a DataFrame: the plan, restore and stitch stages join the same one."""
        if self._frame is None:
            self._frame = spark.createDataFrame(self.overrides())
        return self._frame

    def overrides(self) -> pd.DataFrame:
        """Per prepared video: what the plan, restore and stitch stages read instead of the catalog row."""
        rows = [{"video_id": vid, "p_uri": rec["url"], "p_num_frames": int(rec["num_frames"]),
                 "p_info_json": json.dumps(rec["info"], sort_keys=True, default=str),
                 "p_analysis_json": json.dumps({"num_frames": int(rec["num_frames"]), "cuts": rec["cuts"]}),
                 "canvas_json": json.dumps({"picture": rec["picture"], "bars": rec["bars"]})}
                for vid, rec in self.records.items()]
        return pd.DataFrame(rows, columns=["video_id", "p_uri", "p_num_frames", "p_info_json", "p_analysis_json",
                                           "canvas_json"])


def prepare_sources(spark: Any, cfg: JobConfig, selected: Any, sel_pdf: pd.DataFrame) -> Prepared:
    """Mezzanines of the selected, probed videos whose analysis calls for one."""
    from pyspark.sql import functions as F

    from seedvr.video.decode import DecodeLimits

    out = Prepared()
    options = cfg.prepare.options()
    ok = sel_pdf[sel_pdf["probe_status"] == "ok"]
    ids = [v for v, a in zip(ok["video_id"], ok["analysis_json"], strict=True) if needs_preparation(a, options)]
    if not ids:
        return out
    limits = DecodeLimits(cfg.execution.decode_timeout_s, cfg.execution.decode_window_mb,
                          cfg.execution.decode_max_memory_mb)
    stage = PrepareSources(cfg.storage.output_root, options, limits)
    rows = map_stage(selected.filter(F.col("video_id").isin(ids)).select(*INPUT_COLUMNS)
                     .repartition(max(1, min(cfg.execution.probe_slots, len(ids))), "video_id"),
                     stage, PrepareSources.output_schema).toPandas()
    for r in rows.itertuples(index=False):
        if isinstance(r.prepared_json, str):
            out.records[r.video_id] = json.loads(r.prepared_json)
        else:
            out.failures.append({"video_id": r.video_id, "error_class": r.error_class,
                                 "error_message": r.error_message})
    return out


def apply_overrides(spark: Any, df: Any, prepared: Prepared, *, uri: str = "uri", info: str | None = None) -> Any:
    """`df` with the prepared videos' mezzanine in place of the source: `uri`, `num_frames`,
    `analysis_json` (and `info_json` when `info` names it) where present, plus `canvas_json`."""
    from pyspark.sql import functions as F

    if not prepared.records:
        return df.withColumn("canvas_json", F.lit(None).cast("string"))
    j = df.join(prepared.overrides_frame(spark), on="video_id", how="left")
    cols = []
    for c in df.columns:
        if c == uri:
            cols.append(F.coalesce(F.col("p_uri"), F.col(c)).alias(c))
        elif c == "num_frames":
            cols.append(F.coalesce(F.col("p_num_frames").cast("long"), F.col(c)).alias(c))
        elif c == "analysis_json":
            cols.append(F.coalesce(F.col("p_analysis_json"), F.col(c)).alias(c))
        elif info is not None and c == info:
            cols.append(F.coalesce(F.col("p_info_json"), F.col(c)).alias(c))
        else:
            cols.append(F.col(c))
    return j.select(*cols, "canvas_json")
