"""Executor functions run through `mapInArrow`: pyarrow's own conversion in, rows straight to Arrow out.

Every stage reads pandas frames. Under `mapInPandas` PySpark converts each batch to and from Arrow column
by column in Python: 2.5-3 ms for a one-row batch of a wide schema each way, paid for every segment and
every video. pyarrow's C++ conversion of the same batch takes a quarter of that, and the frames a stage
sees are the same: strings as objects, integer columns with nulls as floats, maps as dicts, timestamps
naive (UTC). A stage that returns row dicts (`iter_rows`, as `udfs.stage.BatchStage` does) skips the
pandas frame on the way out: 0.1 ms instead of 2 for such a batch (`udfs.schemas.batch_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
from pyspark.sql.types import StructType

from udfs.schemas import batch_for

PandasStage = Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]


def to_frame(batch: pa.RecordBatch) -> pd.DataFrame:
    """A batch as the frame mapInPandas would hand over."""
    df = batch.to_pandas(maps_as_pydicts="strict")
    for name in df.columns:
        if isinstance(df[name].dtype, pd.DatetimeTZDtype):
            df[name] = df[name].dt.tz_convert("UTC").dt.tz_localize(None)
    return df


class ArrowStage:
    """`df.mapInArrow(ArrowStage(stage, schema), schema)` runs a pandas `stage` with pyarrow's conversions."""

    def __init__(self, stage: PandasStage, schema: StructType) -> None:
        self.stage = stage
        self.schema = schema
        self._arrow: pa.Schema | None = None

    def _arrow_schema(self) -> pa.Schema:
        if self._arrow is None:
            from pyspark.sql.pandas.types import to_arrow_schema

            self._arrow = to_arrow_schema(self.schema, timezone="UTC")
        return self._arrow

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        schema = self._arrow_schema()
        frames = (to_frame(b) for b in batches)
        rows_of = getattr(self.stage, "iter_rows", None)
        if rows_of is not None:  # a stage that makes rows: straight to Arrow, no frame in between
            for rows in rows_of(frames):
                yield batch_for(rows, self.schema, schema)
            return
        for out in self.stage(frames):
            yield pa.RecordBatch.from_pandas(out, schema=schema, preserve_index=False)


def map_stage(df: Any, stage: PandasStage, schema: StructType) -> Any:
    """`df.mapInPandas(stage, schema)`, through Arrow (see the module's docstring)."""
    return df.mapInArrow(ArrowStage(stage, schema), schema)
