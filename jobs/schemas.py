"""Delta table schemas, in code so that tables are created and evolved from one definition.

Adding a column here is safe: `jobs.tables.ensure_table` adds it to an existing table (schema evolution
by an empty mergeSchema append, which both Sail and Databricks support) and older rows read it as null.
Changing a column's type is not: the table is refused with an error naming the table and the column.
"""

from __future__ import annotations

from pyspark.sql.types import DateType, StructField, StructType

from udfs.schemas import PLAN_OUT, PROBE_OUT, RESTORATION_UDF_OUT, SEGMENT_UDF_OUT, TS, L, S, struct

# Provenance columns carried by every result row (also written to each commit's userMetadata).
PROVENANCE_FIELDS: tuple[tuple[str, object], ...] = (
    ("run_id", S),
    ("job_id", S),
    ("job_run_id", S),
    ("weights_sha256", S),
    ("code_version", S),
    ("engine", S),
    ("device_type", S),
)
# The provenance the executors report for themselves (segment rows carry what the executor saw; a video's
# restoration row takes its segments' values); the driver supplies the rest.
EXECUTOR_PROVENANCE = ("weights_sha256", "device_type")

# The catalog row: the driver's listing columns around the probe's own (a re-probe updates those in place).
VIDEOS = struct(
    ("video_id", S),
    ("uri", S),
    ("content_class", S),
    ("added_date", DateType()),
    ("added_at", TS),
    ("size_bytes", L),
    ("etag", S),
    ("mtime", TS),
    ("file_version", S),
    *((f.name, f.dataType) for f in PROBE_OUT.fields if f.name not in ("video_id", "uri")),
    ("ingest_run_id", S),
    # The ingest source the file was found under: restore reads the file only inside it (or a root of
    # ingest.source_roots), so a catalog value edited later cannot point the job elsewhere.
    ("source_root", S),
)

# The planner's rows without their error columns (failed plans go to restorations), stamped by the driver.
SEGMENT_PLAN = StructType(
    [f for f in PLAN_OUT.fields if f.name not in ("error_class", "error_message")]
    + [StructField("planned_at", TS, True), StructField("run_id", S, True)]
)

# The executor reports its own weights digest and device type; the driver adds the other provenance.
SEGMENT_RESULTS = StructType(
    [f for f in SEGMENT_UDF_OUT.fields if f.name != "device_type"]
    + [StructField(n, t, True) for n, t in PROVENANCE_FIELDS if n != "weights_sha256"]  # type: ignore[arg-type]
    + [StructField("staged_at", TS, True)]
)

RESTORATIONS = StructType(
    list(RESTORATION_UDF_OUT.fields)
    + [StructField(n, t, True) for n, t in PROVENANCE_FIELDS]  # type: ignore[arg-type]
    + [StructField("started_at", TS, True), StructField("finished_at", TS, True)]
    # What the catalog's analysis found in the source, and what the restoration did about it (JSON).
    + [StructField("analysis_json", S, True), StructField("archive_applied", S, True)]
)

SCHEMAS: dict[str, StructType] = {
    "videos": VIDEOS,
    "segment_plan": SEGMENT_PLAN,
    "segment_staging": SEGMENT_RESULTS,
    "segments": SEGMENT_RESULTS,
    "restorations": RESTORATIONS,
}

# MERGE keys of each table.
KEYS: dict[str, tuple[str, ...]] = {
    "videos": ("video_id",),
    "segment_plan": ("video_id", "config_hash", "segment_index"),
    "segments": ("video_id", "config_hash", "segment_index"),
    "restorations": ("video_id", "config_hash"),
}
