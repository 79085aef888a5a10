"""Prepare archive sources on executors: one row per video in, its mezzanine record out.

A video whose analysis calls for it (interlaced, telecined, boxed, anamorphic: seedvr.video.prepare) is
rewritten once as a lossless mezzanine under `<output_root>/prepared/<video>/`, decoded in the sandbox.
The key is a function of the file version and the filter chain, so a rerun (or another config with the
same preparation) finds it and only probes it again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pyspark.sql.types import StructField, StructType

from seedvr.video.decode import DecodeLimits
from udfs.schemas import S
from udfs.stage import BatchStage, failure_columns

INPUT_COLUMNS = ("video_id", "uri", "file_version", "info_json", "analysis_json")

PREPARE_OUT = StructType([StructField(n, S, True) for n in
                          ("video_id", "prepared_json", "error_class", "error_message")])


def prepared_url(output_root: str, video_id: str, file_version: str, filters: str) -> str:
    from seedvr.video.storage import join_url
    from seedvr.video.storage import sanitize_key_component as k

    digest = hashlib.sha256(filters.encode()).hexdigest()[:12]
    return join_url(output_root, "prepared", k(video_id), f"{k(file_version)}-{digest}.mkv")


@dataclass(frozen=True)
class PrepareSources(BatchStage):
    output_root: str
    options: Any  # seedvr.video.prepare.PrepareOptions
    limits: DecodeLimits = DecodeLimits()

    output_schema = PREPARE_OUT

    def rows(self, batch: pd.DataFrame) -> list[dict[str, Any]]:
        from seedvr.video.analysis import Analysis
        from seedvr.video.info import VideoInfo
        from seedvr.video.prepare import plan_preparation, prepare_isolated
        from seedvr.video.prepared import PreparedSource, job_record, map_cuts
        from seedvr.video.probe import probe
        from seedvr.video.storage import exists

        rows = []
        for r in batch.itertuples(index=False):
            row: dict[str, Any] = {"video_id": r.video_id}
            try:
                info = VideoInfo.from_dict(json.loads(r.info_json))
                analysis = Analysis.from_dict(json.loads(r.analysis_json))
                prep = plan_preparation(analysis, self.options)
                url = prepared_url(self.output_root, str(r.video_id), str(r.file_version), ",".join(prep.filters))
                mezz = None
                if exists(url):  # written whole by an earlier run (atomic), else absent
                    try:
                        mezz = probe(url, isolate=False)
                    except Exception:  # noqa: BLE001 - damaged: write it again
                        mezz = None
                if mezz is None:
                    prepare_isolated(r.uri, info, prep, url, self.limits)
                    mezz = probe(url, isolate=False)  # our own file
                p = PreparedSource(mezz, info, analysis, prep, map_cuts(analysis.cut_frames, info, mezz))
                row["prepared_json"] = json.dumps(job_record(p, url), sort_keys=True, default=str)
            except Exception as exc:  # noqa: BLE001 - one bad video must not stop the others
                row.update(failure_columns(exc, "prepare: "))
            rows.append(row)
        return rows
