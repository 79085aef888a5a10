"""Delta tables on real Sail: created when missing, evolved when a column is added, refused when a
column's type conflicts (naming the table and the column), MERGE by key."""

from __future__ import annotations

import os

import pytest
from pyspark.sql.types import LongType, StringType, StructField, StructType

from jobs.schemas import SCHEMAS
from jobs.tables import (
    SchemaMismatchError,
    TableRef,
    check_compatible,
    ensure_table,
    ensure_tables,
    merge,
    table_refs,
)
from tests.jobs.helpers import tiny_config


def test_ensure_tables_creates_all_with_code_schemas(spark, tmp_path) -> None:
    tables = table_refs(tiny_config(str(tmp_path)).tables)
    added = ensure_tables(spark, tables)
    assert set(added) == {"videos", "segment_plan", "segment_staging", "segments", "restorations"}
    for ref in tables.all():
        assert ref.read(spark).schema.fieldNames() == SCHEMAS[ref.kind].fieldNames()
    assert all(v == [] for v in ensure_tables(spark, tables).values())  # second call: nothing to do


def test_added_column_evolves_existing_table_and_keeps_rows(spark, tmp_path) -> None:
    ref = TableRef("demo", path=str(tmp_path / "t"))
    old = StructType([StructField("id", StringType()), StructField("n", LongType())])
    ref.append(spark.createDataFrame([("a", 1)], old))
    new = StructType([*old.fields, StructField("note", StringType())])
    assert ensure_table(spark, ref, new) == ["note"]
    rows = ref.read(spark).collect()
    assert ref.read(spark).schema.fieldNames() == ["id", "n", "note"]
    assert [(r.id, r.n, r.note) for r in rows] == [("a", 1, None)]
    merge(spark, ref, spark.createDataFrame([("a", 2, "x"), ("b", 3, None)], new), keys=["id"])
    assert sorted((r.id, r.n, r.note) for r in ref.read(spark).collect()) == [("a", 2, "x"), ("b", 3, None)]


def test_incompatible_table_is_refused_naming_table_and_column(spark, tmp_path) -> None:
    cfg = tiny_config(str(tmp_path))
    tables = table_refs(cfg.tables)
    wrong = StructType([StructField("video_id", LongType()), StructField("uri", StringType())])
    tables.restorations.append(spark.createDataFrame([(1, "x")], wrong))
    with pytest.raises(SchemaMismatchError) as e:
        ensure_tables(spark, tables)
    msg = str(e.value)
    assert tables.restorations.label in msg and "'video_id'" in msg and "bigint" in msg and "string" in msg
    # Checked before anything is created: the other tables do not exist yet.
    assert not os.path.exists(tables.videos.path)


def test_check_compatible_lists_missing_columns() -> None:
    ref = TableRef("videos", path="/x")
    have = StructType(SCHEMAS["videos"].fields[:3])
    assert check_compatible(ref, SCHEMAS["videos"], have) == SCHEMAS["videos"].fieldNames()[3:]


def test_catalog_names_work_on_sail(spark, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # managed tables land in ./spark-warehouse
    ref = TableRef("videos", name="seedvr_test_names")
    ensure_table(spark, ref, SCHEMAS["segment_plan"])
    assert spark.catalog.tableExists("seedvr_test_names")
    assert ensure_table(spark, ref, SCHEMAS["segment_plan"]) == []


def test_a_large_driver_frame_is_merged_in_bounded_uploads(spark, tmp_path) -> None:
    """Rows from the driver go up in chunks under the byte bound, one MERGE each, and all of them land."""
    import json

    import pandas as pd

    from jobs.tables import byte_chunks, merge_frame

    schema = StructType([StructField("id", StringType()), StructField("n", LongType()),
                         StructField("note", StringType())])
    ref = TableRef("demo", path=str(tmp_path / "t"))
    ensure_table(spark, ref, schema)
    pdf = pd.DataFrame({"id": [f"v{i:04d}" for i in range(300)], "n": range(300),
                        "note": [json.dumps({"cuts": list(range(i % 50))}) for i in range(300)]})
    bound = 8_000
    chunks = list(byte_chunks(pdf, bound))
    assert len(chunks) > 3 and sum(len(c) for c in chunks) == 300
    assert all(c.memory_usage(deep=True, index=False).sum() <= 1.5 * bound for c in chunks)
    assert merge_frame(spark, ref, pdf, schema, keys=["id"], max_bytes=bound) == len(chunks)
    got = ref.read(spark).toPandas().sort_values("id").reset_index(drop=True)
    for col in ("id", "n", "note"):
        assert got[col].tolist() == pdf[col].tolist()
    # merged again (a rerun): still one row per key
    merge_frame(spark, ref, pdf.assign(n=pdf["n"] + 1), schema, keys=["id"], max_bytes=bound)
    assert ref.read(spark).count() == 300
    assert list(byte_chunks(pdf.iloc[:0], bound)) == []
    assert [len(c) for c in byte_chunks(pdf.iloc[:1], 1)] == [1]
