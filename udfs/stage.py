"""What the executor functions share: the mapInPandas loop over batches and the columns of a failed row.

Every stage turns each input row into output rows and records a failure in the row instead of raising
(one bad file never fails the task), so the loop and the error columns are written once here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from seedvr.errors import error_class_of

# Longest error message kept in a row: enough for a traceback's last line, bounded for the tables.
MAX_ERROR_CHARS = 2000


def failure_columns(exc: BaseException, context: str = "") -> dict[str, str]:
    """`error_class` and `error_message` of a row that failed with `exc` (message: `context`, then the
    exception's type and text, cut to MAX_ERROR_CHARS)."""
    return {"error_class": error_class_of(exc),
            "error_message": f"{context}{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]}


class BatchStage:
    """A mapInPandas function: `process()` each non-empty batch into one output frame."""

    def process(self, batch: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if len(batch):
                yield self.process(batch)
