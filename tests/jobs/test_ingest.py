"""Ingest: fsspec listing, probing on executors, idempotency, change detection and stale marking."""

from __future__ import annotations

import os
import time

from jobs.catalog.register import file_version, ingest, list_videos, make_video_id
from jobs.restore.pipeline import run_restore
from jobs.restore.selection import make_selection
from jobs.tables import ensure_tables, table_refs
from tests.jobs.helpers import make_catalog, tiny_config


def test_listing_filters_extensions_and_ids_are_stable(make_video, tmp_path) -> None:
    make_catalog(make_video, str(tmp_path / "src"), n=2, frames=5)
    (tmp_path / "src" / "notes.txt").write_text("x")
    df = list_videos(str(tmp_path / "src"), [".mp4"])
    assert len(df) == 2 and all(u.endswith(".mp4") for u in df["uri"])
    assert make_video_id(df["uri"][0]) == make_video_id(df["uri"][0]) != make_video_id(df["uri"][1])
    assert make_video_id("/x/../a b?.mp4").startswith("a_b")


def test_file_version_changes_with_size_etag_or_mtime() -> None:
    import datetime as dt

    t = dt.datetime(2026, 1, 1)
    v = file_version(10, "e", t)
    assert v != file_version(11, "e", t) != file_version(10, "f", t) != file_version(10, "e", t.replace(second=1))


def test_changed_file_is_reprobed_and_restorations_go_stale(spark, make_video, tmp_path) -> None:
    paths = make_catalog(make_video, str(tmp_path / "src"), n=2, frames=5)
    cfg = tiny_config(str(tmp_path))
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    first = ingest(spark, cfg, tables, source=str(tmp_path / "src"), run_id="i1")
    assert (first.new, first.probed_ok) == (2, 2)
    run_restore(spark, cfg, make_selection(), track=False)
    vid = make_video_id(paths[0])
    old = {r.video_id: r for r in tables.videos.read(spark).collect()}[vid]

    time.sleep(0.01)
    make_video("v0", frames=9, size=(32, 48), seed=7, folder=str(tmp_path / "src"))  # new content, same path
    os.utime(paths[0], (time.time() + 5, time.time() + 5))
    second = ingest(spark, cfg, tables, source=str(tmp_path / "src"), run_id="i2")
    assert (second.new, second.changed, second.unchanged) == (0, 1, 1)
    new = {r.video_id: r for r in tables.videos.read(spark).collect()}[vid]
    assert new.file_version != old.file_version and new.num_frames == 9
    assert new.added_date == old.added_date and new.ingest_run_id == "i2"
    res = {r.video_id: r.status for r in tables.restorations.read(spark).collect()}
    assert res[vid] == "stale" and list(res.values()).count("ok") == 1

    rep = run_restore(spark, cfg, make_selection(), track=False)
    assert rep.selected == 1 and rep.videos_ok == 1
    row = {r.video_id: r for r in tables.restorations.read(spark).collect()}[vid]
    assert row.status == "ok" and row.file_version == new.file_version and row.num_frames == 9
    # Later runs never bring the old version's staged attempts back.
    assert run_restore(spark, cfg, make_selection(), track=False).recovered_segments == 0
    segs = [s for s in tables.segments.read(spark).collect() if s.video_id == vid]
    assert len(segs) == 2 and {s.file_version for s in segs} == {new.file_version}
