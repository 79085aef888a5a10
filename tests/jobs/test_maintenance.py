"""End-of-run compaction: the small files of many waves become a few, the tables read the same, and a
resumed or repeated run still finds its rows."""

from __future__ import annotations

import os
import subprocess
import sys

from jobs.restore.maintenance import maintain_tables
from jobs.tables import table_refs
from tests.jobs.helpers import make_catalog, table_records, tiny_config, write_profile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _rounded(value):
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _files(path: str) -> int:
    from deltalake import DeltaTable

    return len(DeltaTable(path).file_uris())


def test_one_segment_waves_are_compacted_at_the_end_of_the_run(spark, make_video, tmp_path) -> None:
    make_catalog(make_video, str(tmp_path / "src"), n=3, frames=9)
    # One segment per wave: 6 waves, each a staging append and a MERGE.
    cfg = tiny_config(str(tmp_path), execution={"wave_segments": 1},
                      tables={"compact_min_files": 4, "vacuum_retention_hours": 0})
    profile = write_profile(cfg, str(tmp_path / "p.yaml"))
    env = {**os.environ, "PYTHONPATH": REPO}
    run = lambda *a: subprocess.run([sys.executable, "-m", *a, "--profile", profile, "--no-mlflow"],  # noqa: E731
                                    cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run("jobs.catalog.command", "--source", str(tmp_path / "src")).returncode == 0
    res = run("jobs.restore.command")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "3 restored" in res.stdout and "maintenance: " in res.stdout
    # What each wave's commit costs is reported beside the restore stage.
    assert "waves: 6 of up to 1 segments; MERGE per wave " in res.stdout and "% of the restore stage" in res.stdout
    tables = table_refs(cfg.tables)
    for ref in (tables.segment_staging, tables.segments):
        assert _files(ref.path) == 1, ref.kind  # one file per compacted table
    # The engine still reads them, and a second run finds every video done.
    assert tables.segments.read(spark).count() == 6 and tables.restorations.read(spark).count() == 3
    again = run("jobs.restore.command")
    assert again.returncode == 0 and ("nothing to do" in again.stdout or "matched no pending" in again.stdout)


def test_maintenance_changes_no_row_and_reports_what_it_cannot_do(spark, make_video, tmp_path) -> None:
    from jobs.catalog.register import ingest
    from jobs.restore.pipeline import run_restore
    from jobs.restore.selection import make_selection
    from jobs.tables import ensure_tables

    make_catalog(make_video, str(tmp_path / "src"), n=2, frames=9)
    cfg = tiny_config(str(tmp_path), execution={"wave_segments": 1}, tables={"compact": False})
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    ingest(spark, cfg, tables, source=str(tmp_path / "src"), run_id="i")
    rep = run_restore(spark, cfg, make_selection(), track=False)
    assert rep.maintenance == [] and _files(tables.segments.path) > 2
    before = {r.kind: table_records(spark, r) for r in tables.all()}
    lines: list[str] = []
    done = maintain_tables(spark, tables, cfg.tables.model_copy(update={"compact_min_files": 2}), lines.append)
    assert {m.table for m in done} == {r.kind for r in tables.all()} and not any(m.error for m in done)
    # Doubles compared to 12 digits: the engine may answer a one-row file from the log's statistics,
    # which hold a shorter decimal form of the same value.
    assert _rounded({r.kind: table_records(spark, r) for r in tables.all()}) == _rounded(before)
    assert any(line.startswith("tables: segment") and "-> 1 files" in line for line in lines)
    broken = tables.__class__(**{**tables.__dict__, "videos": tables.videos.__class__("videos", path=str(tmp_path / "no"))})
    out = maintain_tables(spark, broken, cfg.tables, lines.append)
    assert out[0].error and "videos: not maintained" in lines[-1]
