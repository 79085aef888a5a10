"""What the executor functions share: the mapInPandas loop over batches and the columns of a failed row.

Every stage turns each input row into output rows and records a failure in the row instead of raising
(one bad file never fails the task), so the loop and the error columns are written once here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
from pyspark.sql.types import StructType

from seedvr.errors import error_class_of
from udfs.schemas import frame_for

# Longest error message kept in a row: enough for a traceback's last line, bounded for the tables.
MAX_ERROR_CHARS = 2000


def failure_columns(exc: BaseException, context: str = "") -> dict[str, str]:
    """`error_class` and `error_message` of a row that failed with `exc` (message: `context`, then the
    exception's type and text, cut to MAX_ERROR_CHARS)."""
    return {"error_class": error_class_of(exc),
            "error_message": f"{context}{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]}


class BatchStage:
    """A mapInPandas function: each non-empty batch becomes the `rows()` of one output batch.

    The rows are plain dicts; `udfs.arrow_stage` turns them into Arrow directly (`iter_rows`), and a pandas
    caller gets them as a frame of `output_schema` (`process`, `__call__`)."""

    output_schema: StructType

    def rows(self, batch: pd.DataFrame) -> list[dict[str, Any]]:
        raise NotImplementedError

    def process(self, batch: pd.DataFrame) -> pd.DataFrame:
        return frame_for(self.rows(batch), self.output_schema)

    def iter_rows(self, batches: Iterator[pd.DataFrame]) -> Iterator[list[dict[str, Any]]]:
        for batch in batches:
            if len(batch):
                yield self.rows(batch)

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for rows in self.iter_rows(batches):
            yield frame_for(rows, self.output_schema)
