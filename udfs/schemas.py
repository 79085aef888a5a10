"""Output schemas of the executor-side functions (declared columns, as Curator's stages declare theirs).

The driver adds provenance columns and timestamps before writing; see jobs/schemas.py for the tables.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
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


def struct(*fields: tuple[str, object]) -> StructType:
    """A schema of nullable columns from (name, type) pairs."""
    return StructType([StructField(n, t, True) for n, t in fields])  # type: ignore[arg-type]


S, L, INT, D, TS = StringType(), LongType(), IntegerType(), DoubleType(), TimestampType()
SCORES = MapType(StringType(), DoubleType(), True)

# What udfs.probe.ProbeVideos returns: one row per file (also the probe columns of jobs.schemas.VIDEOS).
PROBE_OUT = struct(
    ("video_id", S),
    ("uri", S),
    ("probe_status", S),
    ("error_class", S),
    ("error_message", S),
    ("num_frames", L),
    ("width", INT),
    ("height", INT),
    ("fps", D),
    ("duration_s", D),
    ("codec", S),
    ("bit_depth", INT),
    ("has_audio", BooleanType()),
    ("info_json", S),
    ("probed_at", TS),
    # What the file really holds (seedvr.video.analysis): shots, scan type, bars, pixel shape, as JSON,
    # with the scan type and the shot count as columns for predicates ("scan_type = 'interlaced'").
    ("analysis_json", S),
    ("scan_type", S),
    ("num_shots", INT),
)

# What udfs.plan.PlanSegments returns: one row per segment (jobs.schemas.SEGMENT_PLAN builds on it).
PLAN_OUT = struct(
    ("video_id", S),
    ("config_hash", S),
    ("segment_index", INT),
    ("file_version", S),
    ("uri", S),
    ("window_start", L),
    ("first_output", L),
    ("last_output", L),
    ("num_segments", INT),
    ("error_class", S),
    ("error_message", S),
)

# What udfs.restore_segments.RestoreSegments returns (the driver adds provenance and staged_at).
SEGMENT_UDF_OUT = struct(
    ("video_id", S),
    ("preset", S),
    ("config_hash", S),
    ("segment_index", INT),
    ("file_version", S),
    ("status", S),
    ("error_class", S),
    ("error_message", S),
    ("intermediate_uri", S),
    ("intermediate_sha256", S),
    ("window_start", L),
    ("first_output", L),
    ("last_output", L),
    ("frames_in", INT),
    ("frames_out", INT),
    ("out_height", INT),
    ("out_width", INT),
    ("seed", L),
    ("scores", SCORES),
    ("read_s", D),
    ("restore_s", D),
    ("write_s", D),
    ("total_s", D),
    ("device", S),
    ("worker", S),
    ("weights_sha256", S),
    ("device_type", S),
    # True when an earlier, interrupted run had finished this segment (its file and receipt verified).
    ("reused", BooleanType()),
)

# What udfs.stitch.StitchVideos returns (the driver adds provenance and timestamps).
RESTORATION_UDF_OUT = struct(
    ("video_id", S),
    ("preset", S),
    ("config_hash", S),
    ("file_version", S),
    ("uri", S),
    ("content_class", S),
    ("status", S),
    ("error_class", S),
    ("error_message", S),
    ("output_uri", S),
    ("output_sha256", S),
    ("num_segments", INT),
    ("segments_ok", INT),
    ("segments_failed", INT),
    ("num_frames", L),
    ("out_width", INT),
    ("out_height", INT),
    ("scores", SCORES),
    ("restore_s", D),
    ("stitch_s", D),
    # Signed provenance in the file (seedvr.provenance): embedded, sidecar or disabled; the manifest's
    # label and sha256, and the signer's certificate subject (a test one says FOR TESTING ONLY).
    ("disclosed", BooleanType()),
    ("disclosure", S),
    ("manifest_label", S),
    ("manifest_sha256", S),
    ("disclosure_signer", S),
    ("sign_s", D),
)



def utc_now() -> dt.datetime:
    """Now as naive UTC, the form every `TS` column is written in (executors and driver alike)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def frame_for(rows: list[dict], schema: StructType) -> pd.DataFrame:
    """A pandas frame with the schema's columns and dtypes that survive all-null columns.

    An all-None column is float64 NaN to pandas, which Arrow refuses for a string field; nullable
    extension dtypes keep missing values as nulls for every type. The columns are built apart and the
    frame once: assigning them one by one into a frame costs ~6 ms for a one-row batch of a wide schema
    (pandas splits its blocks at each assignment), which is what every UDF batch of one row paid.
    """
    columns: dict[str, object] = {}
    for f in schema.fields:
        values = [r.get(f.name) for r in rows]
        t = f.dataType
        if isinstance(t, StringType):
            columns[f.name] = pd.array([None if _missing(v) else v for v in values], dtype=object)
        elif isinstance(t, (IntegerType, LongType)):
            columns[f.name] = pd.array(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"),
                                       dtype="Int64" if isinstance(t, LongType) else "Int32")
        elif isinstance(t, DoubleType):
            columns[f.name] = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype("float64").array
        elif isinstance(t, BooleanType):
            columns[f.name] = pd.array([None if _missing(v) else bool(v) for v in values], dtype="boolean")
        elif isinstance(t, MapType):
            columns[f.name] = pd.array([v if isinstance(v, dict) else {} for v in values], dtype=object)
        else:  # timestamps, arrays: what pandas infers, as before
            columns[f.name] = pd.Series(values, dtype=None if any(v is not None for v in values) else object)
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))


def batch_for(rows: list[dict], schema: StructType, arrow_schema: pa.Schema) -> pa.RecordBatch:
    """The Arrow batch of `frame_for(rows, schema)` (the same values and nulls), built from the rows
    directly: a one-row batch of a wide schema takes 0.1 ms this way, 2 ms through a pandas frame, and
    every segment and video of a job is such a batch."""
    columns = []
    for f in schema.fields:
        coerce = _COERCE.get(type(f.dataType), _as_is)
        columns.append([coerce(r.get(f.name)) for r in rows])
    return pa.RecordBatch.from_arrays([pa.array(c, type=t) for c, t in zip(columns, arrow_schema.types, strict=True)],
                                      schema=arrow_schema)


def _as_is(v: object) -> object:
    return None if _missing(v) or v is pd.NaT else v


def _as_int(v: object) -> int | None:
    """An integer column's value; what `pd.to_numeric(errors="coerce")` cannot read is null, as there."""
    if _missing(v):
        return None
    try:
        return int(v) if not isinstance(v, str) else int(pd.to_numeric(v))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _as_float(v: object) -> float | None:
    """A double column's value; NaN is null, as Arrow makes it from a pandas float column."""
    if _missing(v):
        return None
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if x != x else x


_COERCE = {
    StringType: lambda v: None if _missing(v) else v,
    IntegerType: _as_int,
    LongType: _as_int,
    DoubleType: _as_float,
    BooleanType: lambda v: None if _missing(v) else bool(v),
    MapType: lambda v: {k: None if _missing(x) else x for k, x in v.items()} if isinstance(v, dict) else {},
}


def _missing(v: object) -> bool:
    """None, NaN or pandas' NA: what `notna` treats as absent."""
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)
