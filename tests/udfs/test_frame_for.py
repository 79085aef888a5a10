"""UDF output frames: every missing value is a null of the column's type, whatever form it came in."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import (
    BooleanType,
    DoubleType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from udfs.schemas import RESTORATION_UDF_OUT, SEGMENT_UDF_OUT, batch_for, frame_for

SCHEMA = StructType([
    StructField("s", StringType()), StructField("i", IntegerType()), StructField("n", LongType()),
    StructField("d", DoubleType()), StructField("b", BooleanType()),
    StructField("m", MapType(StringType(), DoubleType())), StructField("t", TimestampType()),
])


def test_missing_values_in_every_form_become_nulls() -> None:
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    rows = [
        {"s": "a", "i": 1, "n": 2**40, "d": 0.5, "b": True, "m": {"psnr": 30.0}, "t": now},
        {"s": None, "i": None, "n": float("nan"), "d": None, "b": pd.NA, "m": None},  # "t" absent
        {"s": float("nan"), "i": "7", "n": pd.NA, "d": "x", "b": False, "m": float("nan"), "t": None},
    ]
    df = frame_for(rows, SCHEMA)
    assert list(df.columns) == SCHEMA.fieldNames() and len(df) == 3
    assert str(df["i"].dtype) == "Int32" and str(df["n"].dtype) == "Int64" and str(df["b"].dtype) == "boolean"
    assert df["s"].tolist() == ["a", None, None]
    assert df["i"].tolist()[0] == 1 and df["i"].tolist()[2] == 7 and df["i"].isna().tolist() == [False, True, False]
    assert df["n"].tolist()[0] == 2**40 and df["n"].isna().tolist() == [False, True, True]
    assert df["d"].tolist()[0] == 0.5 and all(math.isnan(v) for v in df["d"].tolist()[1:])
    assert df["b"].tolist()[0] is True and df["b"].isna().tolist() == [False, True, False]
    assert df["m"].tolist() == [{"psnr": 30.0}, {}, {}]
    assert df["t"].tolist()[0] == now and df["t"].isna().tolist()[1:] == [True, True]
    # Arrow takes it as Spark's types (what the engine does with a UDF batch)
    table = pa.Table.from_pandas(df, preserve_index=False)
    assert table.column("s").null_count == 2 and table.column("b").null_count == 1


def test_an_all_null_column_stays_typed() -> None:
    df = frame_for([{"s": None, "d": None, "b": None}], SCHEMA)
    table = pa.Table.from_pandas(df, preserve_index=False)
    assert table.schema.field("s").type in (pa.null(), pa.string()) and table.column("s").null_count == 1
    assert str(df["b"].dtype) == "boolean" and df["d"].dtype == "float64"


def test_wide_output_schemas_build_from_sparse_rows() -> None:
    for schema in (SEGMENT_UDF_OUT, RESTORATION_UDF_OUT):
        df = frame_for([{"video_id": "v", "status": "ok"}, {}], schema)
        assert list(df.columns) == schema.fieldNames() and df["video_id"].tolist() == ["v", None]
    assert frame_for([], SCHEMA).empty


def _via_pandas(rows: list[dict], schema: StructType) -> pa.RecordBatch:
    return pa.RecordBatch.from_pandas(frame_for(rows, schema), schema=to_arrow_schema(schema, timezone="UTC"),
                                      preserve_index=False)


def test_rows_go_to_arrow_as_they_would_through_a_frame() -> None:
    """The executor stages build their Arrow batches from rows (`batch_for`): every value, null and NaN
    comes out as `frame_for` + Arrow's pandas conversion would make it."""
    now = dt.datetime(2026, 1, 2, 3, 4, 5)
    rows = [
        {"s": "a", "i": 1, "n": 2**40, "d": 0.5, "b": True, "m": {"psnr": 30.0, "lpips": float("nan")}, "t": now},
        {"s": None, "i": None, "n": float("nan"), "d": None, "b": pd.NA, "m": None},
        {"s": float("nan"), "i": "7", "n": pd.NA, "d": "x", "b": False, "m": float("nan"), "t": None},
        {"s": "z", "i": np.int64(4), "n": np.int32(5), "d": np.float32(2.5), "b": np.bool_(True), "m": {},
         "t": pd.Timestamp(now)},
        {"s": "q", "i": 3.0, "n": "12", "d": np.nan, "b": 0, "t": pd.NaT, "not_a_column": 1},
        {"s": "q", "i": "junk", "n": True, "d": np.float64(-1.0), "b": 1,
         "t": dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)},
    ]
    arrow = to_arrow_schema(SCHEMA, timezone="UTC")
    for one in [[r] for r in rows] + [rows]:
        got = batch_for(one, SCHEMA, arrow)
        assert got.equals(_via_pandas(one, SCHEMA)), (one, got.to_pylist())
    assert batch_for(rows, SCHEMA, arrow).column("m").to_pylist()[0] == [("psnr", 30.0), ("lpips", None)]
    for schema in (SEGMENT_UDF_OUT, RESTORATION_UDF_OUT):
        sparse = [{"video_id": "v", "status": "ok", "scores": {"a": 1.0}}, {}]
        assert batch_for(sparse, schema, to_arrow_schema(schema, timezone="UTC")).equals(_via_pandas(sparse, schema))
