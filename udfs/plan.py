"""Plan segments on executors: one catalog row in, one row per segment out (pure arithmetic).

Planning runs where the catalog rows are, so a catalog of any size never travels to the driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from seedvr.errors import error_class_of
from udfs.schemas import PLAN_OUT
from udfs.stage import MAX_ERROR_CHARS, BatchStage

INPUT_COLUMNS = ("video_id", "uri", "file_version", "num_frames", "analysis_json")


def shot_cuts(analysis_json: str | None, num_frames: int) -> tuple[int, ...]:
    """The cuts of a catalog row's analysis, when it describes these frames (else none)."""
    import json

    if not isinstance(analysis_json, str) or not analysis_json:
        return ()
    a = json.loads(analysis_json)
    if int(a.get("num_frames", -1)) != num_frames:
        return ()
    return tuple(int(c) for c in a.get("cuts", ()) if 0 < int(c) < num_frames)


@dataclass(frozen=True)
class PlanSegments(BatchStage):
    segment_frames: int
    context_frames: int
    config_hash: str
    # Bound segments at the shot cuts the catalog's analysis found: no window spans two shots, so the
    # stitcher never cross-fades across a cut.
    split_at_cuts: bool = True

    output_schema = PLAN_OUT

    def rows(self, batch: pd.DataFrame) -> list[dict[str, Any]]:
        from seedvr.video.plan import plan_segments

        rows = []
        for r in batch.itertuples(index=False):
            base = {"video_id": r.video_id, "config_hash": self.config_hash, "file_version": r.file_version,
                    "uri": r.uri}
            try:
                cuts = shot_cuts(getattr(r, "analysis_json", None), int(r.num_frames)) if self.split_at_cuts else ()
                segs = plan_segments(int(r.num_frames), self.segment_frames, self.context_frames, cuts)
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop planning
                rows.append({**base, "segment_index": -1, "num_segments": 0,
                             "error_class": error_class_of(exc), "error_message": str(exc)[:MAX_ERROR_CHARS]})
                continue
            for s in segs:
                rows.append({**base, "segment_index": s.index, "window_start": s.window_start,
                             "first_output": s.first_output, "last_output": s.last_output,
                             "num_segments": len(segs)})
        return rows
