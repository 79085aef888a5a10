"""Bad input never fails the job silently or loses finished work: missing and damaged sources become
failed rows, bad weights abort with a clear error, an unwritable output root is refused up front."""

from __future__ import annotations

import os

import pytest

from jobs.catalog.register import ingest
from jobs.restore.pipeline import JobAborted, run_restore
from jobs.restore.selection import make_selection
from jobs.tables import ensure_tables, table_refs
from seedvr.errors import ConfigError
from tests.jobs.helpers import make_catalog, table_records, tiny_config


def _ingested(spark, make_video, root, n=2, **over):
    paths = make_catalog(make_video, str(root / "src"), n=n, frames=5)
    cfg = tiny_config(str(root), **over)
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    ingest(spark, cfg, tables, source=str(root / "src"), run_id="i")
    return cfg, tables, paths


def test_missing_and_damaged_sources_become_failed_rows(spark, make_video, tmp_path) -> None:
    cfg, tables, paths = _ingested(spark, make_video, tmp_path, n=3)
    os.remove(paths[0])  # deleted after ingest
    with open(paths[1], "r+b") as f:  # overwritten in place with garbage after ingest
        f.write(os.urandom(os.path.getsize(paths[1])))
    rep = run_restore(spark, cfg, make_selection(), track=False)
    res = {r.uri: r for r in tables.restorations.read(spark).collect()}
    assert rep.videos_ok == 1 and res[paths[2]].status == "ok"
    assert res[paths[0]].status == "failed" and res[paths[0]].error_class == "missing"
    assert paths[0] in res[paths[0]].error_message
    assert res[paths[1]].status == "failed" and res[paths[1]].error_class not in (None, "ok", "internal")
    # A missing object may appear later: retried by the next run. A damaged file is not retried until it
    # changes; the restored video is left alone.
    rep2 = run_restore(spark, cfg, make_selection(), track=False)
    assert rep2.selected == 1 and list(rep2.restorations["uri"]) == [paths[0]]
    after = {r.uri: r for r in tables.restorations.read(spark).collect()}
    assert after[paths[2]].output_sha256 == res[paths[2]].output_sha256 and after[paths[2]].status == "ok"


def test_weights_that_do_not_fit_the_preset_abort_and_keep_results(spark, make_video, tmp_path) -> None:
    import torch
    from safetensors.torch import save_file

    cfg, tables, _ = _ingested(spark, make_video, tmp_path)
    run_restore(spark, cfg, make_selection(), track=False)
    before = table_records(spark, tables.restorations)
    weights = str(tmp_path / "dit.safetensors")
    save_file({"not.a.seedvr.key": torch.zeros(3)}, weights)
    bad = tiny_config(str(tmp_path), preset="tiny-v2", model={"weights": weights},
                      execution={"wave_segments": 2})
    with pytest.raises(JobAborted) as e:
        run_restore(spark, bad, make_selection(), track=False)
    assert "checkpoint" in str(e.value) and "--weights" in str(e.value)
    assert table_records(spark, tables.restorations) == before
    failed = [s for s in tables.segments.read(spark).collect() if s.status == "failed"]
    assert failed and {s.error_class for s in failed} == {"checkpoint"}


def test_unwritable_output_root_is_refused_before_any_work(spark, make_video, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cfg, tables, _ = _ingested(spark, make_video, tmp_path, storage={"output_root": str(blocker / "out")})
    with pytest.raises(ConfigError, match="not writable"):
        run_restore(spark, cfg, make_selection(), track=False)
    assert tables.segment_staging.read(spark).count() == 0


def test_hostile_catalog_ids_cannot_escape_the_output_root(spark, make_video, tmp_path) -> None:
    paths = make_catalog(make_video, str(tmp_path / "src"), n=1, frames=5)
    cfg = tiny_config(str(tmp_path))
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    ingest(spark, cfg, tables, source=str(tmp_path / "src"), run_id="i",
           manifest=[{"path": paths[0], "video_id": "../../escape me/..", "content_class": "x"}])
    run_restore(spark, cfg, make_selection(), track=False)
    (row,) = tables.restorations.read(spark).collect()
    root = os.path.abspath(cfg.storage.output_root)
    assert row.status == "ok" and row.video_id == "../../escape me/.."
    for uri in [row.output_uri] + [s.intermediate_uri for s in tables.segments.read(spark).collect()]:
        assert os.path.abspath(uri).startswith(root + os.sep) and "/../" not in uri
