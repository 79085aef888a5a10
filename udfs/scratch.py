"""Delete committed videos' segment folders on executors, next to the storage: `mapInPandas(FreeScratch())`.

A video's intermediates are needed until its output is committed (resume and the stitcher read them);
after that they are only scratch: about 3 bytes per output pixel per frame on local disk.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from udfs import segment_io
from udfs.schemas import L, S, struct

FREE_OUT = struct(("video_id", S), ("bytes_freed", L), ("error", S))


class FreeScratch:
    """One row per video folder in; (video_id, bytes_freed, error) out. A failure is a row, not a task."""

    output_schema = FREE_OUT

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            rows = []
            for r in batch.itertuples(index=False):
                try:
                    rows.append({"video_id": r.video_id, "bytes_freed": segment_io.delete_scratch(r.folder),
                                 "error": None})
                except Exception as exc:  # noqa: BLE001 - scratch left behind is reported, never fatal
                    from seedvr.errors import first_line

                    rows.append({"video_id": r.video_id, "bytes_freed": 0, "error": first_line(exc)})
            yield pd.DataFrame(rows, columns=["video_id", "bytes_freed", "error"])
