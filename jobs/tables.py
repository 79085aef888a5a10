"""Delta tables by path or by catalog name: create when missing, evolve, refuse incompatible, MERGE.

Only the portable subset is used (DataFrame reader/writer and SQL MERGE): no DeltaTable API, no
ALTER TABLE (Sail 0.7 refuses ADD COLUMNS; an empty `mergeSchema` append does the same on both engines).
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pyspark.sql.types import StructType

from jobs.config import TablesConfig
from jobs.schemas import KEYS, SCHEMAS
from seedvr.errors import ConfigError

USER_METADATA_CONF = "spark.databricks.delta.commitInfo.userMetadata"
_view_ids = itertools.count()


class SchemaMismatchError(ConfigError):
    """A configured table exists with a column of another type."""


@dataclass(frozen=True)
class TableRef:
    """One Delta table: `path` (any URL Spark can read) or a catalog-qualified `name`."""

    kind: str  # logical name: videos, segment_plan, ...
    path: str | None = None
    name: str | None = None

    @property
    def sql(self) -> str:
        """How SQL refers to it (MERGE target)."""
        if self.name:
            return self.name
        return "delta.`" + str(self.path).replace("`", "``") + "`"

    @property
    def label(self) -> str:
        return self.name or str(self.path)

    def read(self, spark: Any) -> Any:
        if self.name:
            return spark.table(self.name)
        return spark.read.format("delta").load(self.path)

    def writer(self, df: Any, *, user_metadata: str | None = None, merge_schema: bool = False) -> Any:
        w = df.write.format("delta").mode("append")
        if user_metadata:
            w = w.option("userMetadata", user_metadata)
        if merge_schema:
            w = w.option("mergeSchema", "true")
        return w

    def append(self, df: Any, *, user_metadata: str | None = None, merge_schema: bool = False) -> None:
        w = self.writer(df, user_metadata=user_metadata, merge_schema=merge_schema)
        if self.name:
            w.saveAsTable(self.name)
        else:
            w.save(self.path)


@dataclass(frozen=True)
class Tables:
    videos: TableRef
    segment_plan: TableRef
    segment_staging: TableRef
    segments: TableRef
    restorations: TableRef

    def all(self) -> list[TableRef]:
        return [self.videos, self.segment_plan, self.segment_staging, self.segments, self.restorations]


def _local_abspath(root: str) -> str:
    if "://" in root:
        return root.rstrip("/")
    import os

    return os.path.abspath(root)


def table_refs(cfg: TablesConfig) -> Tables:
    """Catalog names when `catalog`/`schema` are set (Unity Catalog), else paths under `root`."""
    refs = {}
    for kind in ("videos", "segment_plan", "segment_staging", "segments", "restorations"):
        leaf = getattr(cfg, kind)
        if cfg.catalog or cfg.schema_:
            parts = [p for p in (cfg.catalog, cfg.schema_, leaf) if p]
            refs[kind] = TableRef(kind, name=".".join(parts))
        elif "/" in leaf or "://" in leaf:
            refs[kind] = TableRef(kind, path=_local_abspath(leaf))
        else:
            if not cfg.root:
                raise ConfigError("tables.root is empty: set tables.root (a folder/URL) or tables.catalog/schema")
            refs[kind] = TableRef(kind, path=f"{_local_abspath(cfg.root)}/{leaf}")
    return Tables(**refs)


# ----------------------------------------------------------------------------------- schema checks


def _type_str(dt: Any) -> str:
    return dt.simpleString()


def _existing_schema(spark: Any, ref: TableRef) -> StructType | None:
    if ref.name:
        with contextlib.suppress(Exception):
            if not spark.catalog.tableExists(ref.name):
                return None
        try:
            return spark.table(ref.name).schema
        except Exception:
            return None
    try:
        return spark.read.format("delta").load(ref.path).schema
    except Exception as e:  # engines word "no table here" differently; anything else resurfaces on create
        text = str(e)
        if any(s in text for s in ("_delta_log", "not a Delta table", "PATH_NOT_FOUND", "does not exist",
                                    "No commit files", "not found", "DELTA_MISSING")):
            return None
        raise


def check_compatible(ref: TableRef, expected: StructType, actual: StructType) -> list[str]:
    """Columns of `expected` missing from `actual`; raise SchemaMismatchError on a type conflict."""
    have = {f.name.lower(): f for f in actual.fields}
    missing = []
    for f in expected.fields:
        got = have.get(f.name.lower())
        if got is None:
            missing.append(f.name)
        elif _type_str(got.dataType) != _type_str(f.dataType):
            raise SchemaMismatchError(
                f"table {ref.label} ({ref.kind}) has column {f.name!r} of type {_type_str(got.dataType)}, "
                f"but this job writes {_type_str(f.dataType)}. Point tables.{ref.kind} at another table or "
                f"migrate the column; the existing table was not changed."
            )
    return missing


def ensure_table(spark: Any, ref: TableRef, schema: StructType) -> list[str]:
    """Create the table when missing, add missing columns; returns the columns added."""
    actual = _existing_schema(spark, ref)
    empty = spark.createDataFrame([], schema)
    if actual is None:
        ref.append(empty)
        return [f.name for f in schema.fields]
    missing = check_compatible(ref, schema, actual)
    if missing:
        ref.append(empty, merge_schema=True)
    return missing


def ensure_tables(spark: Any, tables: Tables) -> dict[str, list[str]]:
    """All five tables. Checks every table before creating any, so a bad config changes nothing."""
    from seedvr.video.storage import bucket_of, check_bucket

    # A missing tables bucket is one line naming it, not the engine's XML; one request per bucket.
    for url in {bucket_of(r.path): r.path for r in tables.all() if r.path and bucket_of(r.path)}.values():
        check_bucket(url)
    existing = {}
    for ref in tables.all():
        actual = _existing_schema(spark, ref)
        if actual is not None:
            check_compatible(ref, SCHEMAS[ref.kind], actual)
        existing[ref.kind] = actual
    return {ref.kind: ensure_table(spark, ref, SCHEMAS[ref.kind]) for ref in tables.all()}


# ----------------------------------------------------------------------------------------- MERGE


def conform(df: Any, schema: StructType) -> Any:
    """Select the schema's columns in order, cast to its types (nulls for absent ones)."""
    from pyspark.sql import functions as F

    cols = set(df.columns)
    return df.select(
        [
            (F.col(f.name) if f.name in cols else F.lit(None)).cast(f.dataType).alias(f.name)
            for f in schema.fields
        ]
    )


def merge(
    spark: Any,
    target: TableRef,
    source: Any,
    *,
    keys: Sequence[str] | None = None,
    update_when: str | None = None,
    insert: bool = True,
    update_columns: Sequence[str] | None = None,
    user_metadata: str | None = None,
) -> None:
    """SQL MERGE of `source` (a DataFrame) into `target` on `keys`.

    Explicit column lists (not `SET *`) so a target with extra columns (added later or by users) still
    merges. `update_when` is a SQL condition over `t` and `s` that guards the update. The commit's
    userMetadata goes through the session conf, which Databricks honours and Sail 0.7 ignores for MERGE
    (its appends carry the option; see tests/jobs/test_provenance.py).
    """
    keys = list(keys or KEYS[target.kind])
    view = f"seedvr_merge_src_{next(_view_ids)}"
    source.createOrReplaceTempView(view)
    cols = list(source.columns)
    upd = list(update_columns) if update_columns is not None else [c for c in cols if c not in keys]
    on = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
    sql = f"MERGE INTO {target.sql} AS t USING {view} AS s ON {on}"
    if upd:
        cond = f" AND ({update_when})" if update_when else ""
        sets = ", ".join(f"t.`{c}` = s.`{c}`" for c in upd)
        sql += f" WHEN MATCHED{cond} THEN UPDATE SET {sets}"
    if insert:
        names = ", ".join(f"`{c}`" for c in cols)
        vals = ", ".join(f"s.`{c}`" for c in cols)
        sql += f" WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({vals})"
    if user_metadata:
        with contextlib.suppress(Exception):
            spark.conf.set(USER_METADATA_CONF, user_metadata)
    try:
        spark.sql(sql).collect()
    finally:
        if user_metadata:
            with contextlib.suppress(Exception):
                spark.conf.unset(USER_METADATA_CONF)
        with contextlib.suppress(Exception):
            spark.catalog.dropTempView(view)


def commit_metadata(provenance: Mapping[str, Any], **extra: Any) -> str:
    """Compact JSON for a commit's userMetadata."""
    doc = {k: v for k, v in {**provenance, **extra}.items() if v is not None}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)


def row_waves(df: pd.DataFrame, n: int) -> Iterator[pd.DataFrame]:
    """Consecutive slices of at most `n` rows: the waves in which ingest and restore submit and MERGE work,
    so one Spark job and one commit stay bounded however large the selection is."""
    for i in range(0, len(df), n):
        yield df.iloc[i : i + n]


# The most a frame sent from the driver (createDataFrame) may weigh: Spark Connect refuses a message over
# 128 MiB, and a bounded upload keeps the driver's peak flat.
MAX_UPLOAD_BYTES = 16 * 2**20


def byte_chunks(df: pd.DataFrame, max_bytes: int = MAX_UPLOAD_BYTES) -> Iterator[pd.DataFrame]:
    """Consecutive slices of `df` of at most about `max_bytes` each (pandas' deep size of the rows,
    which is what the Arrow upload carries, within a small factor), never empty, at least one row."""
    if df.empty:
        return
    sizes = df.memory_usage(deep=True, index=False).sum()
    per_row = max(1.0, float(sizes) / len(df))
    n = max(1, int(max_bytes // per_row))
    yield from row_waves(df, n)


def merge_frame(spark: Any, target: TableRef, df: pd.DataFrame, schema: StructType, *,
                max_bytes: int = MAX_UPLOAD_BYTES, **merge_args: Any) -> int:
    """MERGE a driver-side frame into `target` in uploads of at most `max_bytes`; returns the commits made.

    Each chunk is one MERGE (rows are keyed, so a chunk committed before a failure is simply merged again
    by the next run). A run's restoration rows grow with its videos (each carries its analysis and
    scores), and one upload of them all is refused past Spark Connect's 128 MiB."""
    commits = 0
    for chunk in byte_chunks(df, max_bytes):
        merge(spark, target, conform(spark.createDataFrame(chunk, schema), schema), **merge_args)
        commits += 1
    return commits
