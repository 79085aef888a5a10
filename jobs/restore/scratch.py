"""Free the scratch space of committed videos: their segment folders, deleted on executors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from udfs import segment_io
from udfs.scratch import FreeScratch


@dataclass
class Freed:
    videos: int = 0
    bytes: int = 0
    errors: tuple[str, ...] = ()


def free_intermediates(spark: Any, output_root: str, config_hash: str, committed: pd.DataFrame,
                       slots: int) -> Freed:
    """Delete the segment folders of `committed` videos (rows with video_id, file_version).

    Runs only after the restorations MERGE has committed them: until then a rerun may still need the
    segments (resume, or a stitch that failed).
    """
    if committed.empty:
        return Freed()
    folders = pd.DataFrame({
        "video_id": committed["video_id"].astype(str),
        "folder": [segment_io.video_scratch(output_root, config_hash, str(v), str(fv))
                   for v, fv in zip(committed["video_id"], committed["file_version"], strict=True)],
    })
    out = (spark.createDataFrame(folders).repartition(max(1, min(slots, len(folders))))
           .mapInPandas(FreeScratch(), FreeScratch.output_schema).toPandas())
    errors = tuple(f"{r.video_id}: {r.error}" for r in out.itertuples(index=False) if isinstance(r.error, str))
    return Freed(videos=int((out["bytes_freed"] > 0).sum()), bytes=int(out["bytes_freed"].sum()),
                 errors=errors)
