"""Provenance on rows and in Delta commit metadata (read back with deltalake: Sail has no DESCRIBE HISTORY)."""

from __future__ import annotations

import json

import deltalake

from jobs.catalog.register import ingest
from jobs.provenance import code_version
from jobs.restore.pipeline import run_restore
from jobs.restore.selection import make_selection
from jobs.tables import ensure_tables, table_refs
from tests.jobs.helpers import make_catalog, tiny_config


def test_rows_and_commits_carry_provenance(spark, make_video, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DATABRICKS_JOB_ID", "123")
    make_catalog(make_video, str(tmp_path / "src"), n=1, frames=5)
    cfg = tiny_config(str(tmp_path))
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    ingest(spark, cfg, tables, source=str(tmp_path / "src"), run_id="i")
    rep = run_restore(spark, cfg, make_selection(), run_id="run-42", job_run_id="777", track=False)

    (row,) = tables.restorations.read(spark).collect()
    assert (row.run_id, row.job_id, row.job_run_id, row.engine) == ("run-42", "123", "777", "sail")
    assert row.config_hash == rep.config_hash and row.code_version == code_version() and row.device_type
    for seg in tables.segments.read(spark).collect():
        assert (seg.run_id, seg.job_run_id, seg.config_hash, seg.preset) == ("run-42", "777", rep.config_hash,
                                                                             "identity")
        assert seg.device == "cpu" and seg.device_type == "cpu"  # reported by the executor, not the driver

    # Appends carry the run's provenance as userMetadata. (Sail 0.7 ignores the session conf for MERGE
    # commits; Databricks honours it. The staging append links every merged row to its run.)
    history = deltalake.DeltaTable(tables.segment_staging.path).history()
    metas = [json.loads(h["userMetadata"]) for h in history if h.get("userMetadata")]
    assert metas, history
    meta = metas[0]
    assert meta["run_id"] == "run-42" and meta["config_hash"] == rep.config_hash and meta["engine"] == "sail"
    assert meta["preset"] == "identity" and meta["job_id"] == "123" and meta["code_version"] == code_version()
