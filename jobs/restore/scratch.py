"""Free the scratch space of committed videos: their segment folders, deleted on executors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from udfs import segment_io
from udfs.arrow_stage import map_stage
from udfs.scratch import FreeScratch


@dataclass
class Freed:
    videos: int = 0
    bytes: int = 0
    errors: tuple[str, ...] = ()


def free_intermediates(spark: Any, output_root: str, config_hash: str, committed: pd.DataFrame,
                       slots: int, mezzanines: dict[str, str] | None = None) -> Freed:
    """Delete the segment folders of `committed` videos (rows with video_id, file_version), and the
    mezzanine files of those that were prepared (`mezzanines`: video id -> URL).

    Runs only after the restorations MERGE has committed them: until then a rerun may still need the
    segments (resume, or a stitch that failed).
    """
    if committed.empty:
        return Freed()
    ids = committed["video_id"].astype(str)
    folders = pd.DataFrame({
        "video_id": list(ids) + [v for v in ids if v in (mezzanines or {})],
        "folder": [segment_io.video_scratch(output_root, config_hash, str(v), str(fv))
                   for v, fv in zip(committed["video_id"], committed["file_version"], strict=True)]
                  + [(mezzanines or {})[v] for v in ids if v in (mezzanines or {})],
    })
    out = map_stage(spark.createDataFrame(folders).repartition(max(1, min(slots, len(folders)))),
                    FreeScratch(), FreeScratch.output_schema).toPandas()
    errors = tuple(f"{r.video_id}: {r.error}" for r in out.itertuples(index=False) if isinstance(r.error, str))
    freed = out.groupby("video_id")["bytes_freed"].sum()
    return Freed(videos=int((freed > 0).sum()), bytes=int(out["bytes_freed"].sum()), errors=errors)
