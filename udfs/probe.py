"""Probe catalog files on executors: `df.mapInPandas(ProbeVideos(...), PROBE_OUT)`.

seedvr.video.probe runs FFmpeg in a child process with a timeout and a memory cap, so a hostile or broken
file becomes a failed row (with its error class) instead of a crash of the Sail process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from udfs.schemas import PROBE_OUT, utc_now
from udfs.stage import BatchStage, failure_columns

INPUT_COLUMNS = ("video_id", "uri")


def catalog_columns(info: Any) -> dict[str, Any]:
    """Catalog columns from a seedvr.video.VideoInfo (the full dict is kept as info_json)."""
    summ = info.summary()
    return {
        "num_frames": int(summ["num_frames"]),
        "width": int(summ["width"]),
        "height": int(summ["height"]),
        "fps": float(summ["fps"]),
        "duration_s": float(summ["duration_s"]),
        "codec": summ["codec"],
        "bit_depth": int(summ["bit_depth"]),
        "has_audio": int(summ.get("audio_streams", 0)) > 0,
    }


def analysis_columns(uri: str, info: Any, max_memory_mb: int, timeout_s: float, shots: str = "auto") -> dict[str, Any]:
    """The analysis of one probed file as catalog columns; a file that cannot be decoded through fails."""
    from seedvr.video.analysis import analyse_isolated
    from seedvr.video.decode import DecodeLimits

    limits = DecodeLimits(timeout_s=timeout_s, window_mb=max(64.0, max_memory_mb - 1024.0),
                          memory_mb=max_memory_mb)
    a = analyse_isolated(uri, info, limits, shots=shots)
    return {"analysis_json": json.dumps(a.to_dict(), sort_keys=True), "scan_type": a.scan.kind,
            "num_shots": len(a.cuts) + 1}


@dataclass(frozen=True)
class ProbeVideos(BatchStage):
    """mapInPandas function over rows with `video_id`, `uri`; returns PROBE_OUT rows."""

    timeout_s: float = 60.0
    max_memory_mb: int = 2048
    # Allowed source roots: a file outside them (a symlink out of the folder, say) is never opened.
    roots: tuple[str, ...] | None = None
    # Analyse each file once (shots, scan type, bars, pixel shape): a full decode pass in the sandbox.
    analyse: bool = False
    analysis_timeout_s: float = 600.0
    shots: str = "auto"

    output_schema = PROBE_OUT

    def rows(self, batch: pd.DataFrame) -> list[dict[str, Any]]:
        from seedvr.video.probe import probe
        from seedvr.video.storage import check_under_roots

        rows = []
        for video_id, uri in zip(batch["video_id"], batch["uri"], strict=True):
            row: dict[str, Any] = {"video_id": video_id, "uri": uri, "probe_status": "ok"}
            try:
                if self.roots is not None:
                    check_under_roots(uri, self.roots)
                info = probe(uri, timeout_s=self.timeout_s, max_memory_mb=self.max_memory_mb)
                row.update(catalog_columns(info))
                row["info_json"] = json.dumps(info.to_dict(), sort_keys=True, default=str)
                if not row["num_frames"]:
                    row.update(probe_status="failed", error_class="no_video_stream",
                               error_message=f"{uri}: probe found no decodable frames")
                elif self.analyse:
                    row.update(analysis_columns(uri, info, self.max_memory_mb, self.analysis_timeout_s, self.shots))
            except Exception as exc:  # noqa: BLE001 - a bad file is a failed row, never a failed job
                row.update(probe_status="failed", **failure_columns(exc))
            row["probed_at"] = utc_now()
            rows.append(row)
        return rows
