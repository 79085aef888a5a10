"""End to end on embedded Sail with real encoded videos: ingest, restore, stitch, record.

One module-scoped run (3 good videos and 1 corrupt file) serves most assertions; the selection and
bad-input tests make their own small catalogs.
"""

from __future__ import annotations

import os

import pytest

from jobs.catalog.register import ingest
from jobs.restore.pipeline import run_restore
from jobs.restore.selection import make_selection
from jobs.tables import ensure_tables, table_refs
from seedvr.video.probe import probe
from tests.jobs.helpers import make_catalog, tiny_config
from udfs import model_cache


@pytest.fixture(scope="module")
def restored(spark, make_video, tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    make_catalog(make_video, str(root / "src"), n=3, frames=9, corrupt=1)
    cfg = tiny_config(str(root))
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    ing = ingest(spark, cfg, tables, source=str(root / "src"), run_id="ingest-1")
    model_cache.clear()
    model_cache.reset_stats()
    rep = run_restore(spark, cfg, make_selection())
    return {"cfg": cfg, "tables": tables, "ingest": ing, "report": rep, "stats": dict(model_cache.STATS),
            "root": root}


def test_good_videos_restored_and_corrupt_one_failed(restored, spark) -> None:
    rep = restored["report"]
    res = {r.video_id: r for r in restored["tables"].restorations.read(spark).collect()}
    assert len(res) == 4 and rep.videos_ok == 3 and rep.videos_failed == 1
    bad = [r for r in res.values() if r.status == "failed"]
    assert len(bad) == 1 and bad[0].uri.endswith("broken0.mp4")
    assert bad[0].error_class in ("corrupt", "truncated") and "broken0.mp4" in bad[0].error_message
    for r in res.values():
        if r.status != "ok":
            continue
        assert r.output_uri.startswith(restored["cfg"].storage.output_root) and os.path.isfile(r.output_uri)
        info = probe(r.output_uri)
        assert info.num_frames == r.num_frames == 9 and (info.width, info.height) == (48, 32)
        assert r.segments_ok == r.num_segments == 2  # 9 frames, 5-frame windows with 1 frame of context
        assert r.scores["seam_max"] > 0 and "sharpness_mean" in r.scores
        assert r.run_id == rep.run_id and r.config_hash == rep.config_hash and r.engine == "sail"
        assert r.code_version and r.preset == "identity"


def test_segments_staged_merged_and_planned(restored, spark) -> None:
    t, rep = restored["tables"], restored["report"]
    segs = t.segments.read(spark).collect()
    assert len(segs) == 6 and {s.status for s in segs} == {"ok"}
    assert len({(s.video_id, s.segment_index) for s in segs}) == 6
    assert all(len(s.intermediate_sha256) == 64 for s in segs)
    # The three committed videos' segment files are freed after the commit, and only theirs.
    assert not any(os.path.exists(s.intermediate_uri) for s in segs)
    assert rep.freed_videos == 3 and rep.freed_bytes > 0
    assert t.segment_staging.read(spark).count() == 6
    plan = t.segment_plan.read(spark).collect()
    assert sorted((p.first_output, p.last_output, p.window_start) for p in plan if p.video_id == segs[0].video_id) \
        == [(0, 4, 0), (5, 8, 4)]
    assert rep.restored_segments == 6 and rep.skipped_segments == 0


def test_model_loaded_once_per_process(restored) -> None:
    stats = restored["stats"]
    assert stats["loads"] == 1 and stats["restore_calls"] == 6


def test_second_run_does_nothing(restored, spark) -> None:
    model_cache.reset_stats()
    rep = run_restore(spark, restored["cfg"], make_selection())
    assert rep.selected == 0 and "nothing to do" in rep.message
    assert model_cache.STATS["restore_calls"] == 0
    assert restored["tables"].segments.read(spark).count() == 6
    assert restored["tables"].restorations.read(spark).count() == 4


def test_second_ingest_adds_nothing(restored, spark) -> None:
    cfg, t = restored["cfg"], restored["tables"]
    before = t.videos.read(spark).count()
    rep = ingest(spark, cfg, t, source=str(restored["root"] / "src"), run_id="ingest-2")
    assert (rep.new, rep.changed, rep.unchanged) == (0, 0, 4)
    assert t.videos.read(spark).count() == before == 4


def test_tiny_model_end_to_end(spark, make_video, tmp_path) -> None:
    """The real (tiny, random-weight) SeedVR2 model through the whole job, upscaling x2."""
    make_video("one", frames=5, size=(32, 32), folder=str(tmp_path / "src"))
    cfg = tiny_config(str(tmp_path), preset="tiny-v2", model={"target": {"mode": "scale", "value": 2.0}},
                      execution={"gpu_slots": 1})
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    ingest(spark, cfg, tables, source=str(tmp_path / "src"), run_id="i")
    rep = run_restore(spark, cfg, make_selection())
    (row,) = tables.restorations.read(spark).collect()
    assert rep.videos_ok == 1 and row.status == "ok" and (row.out_width, row.out_height) == (64, 64)
    seg = tables.segments.read(spark).collect()[0]
    assert seg.weights_sha256 and "random" in seg.weights_sha256 and seg.device == "cpu"


def test_every_output_carries_a_signed_manifest_that_the_row_names(restored, spark) -> None:
    from seedvr.provenance.verify import verify

    rep = restored["report"]
    ok = [r for r in restored["tables"].restorations.read(spark).collect() if r.status == "ok"]
    assert ok
    for r in ok:
        assert r.disclosed and r.disclosure == "embedded" and "FOR TESTING ONLY" in r.disclosure_signer
        v = verify(r.output_uri)
        assert v.ok and v.label == r.manifest_label and v.test_only
        assert v.restoration["run_id"] == rep.run_id and v.restoration["config_hash"] == rep.config_hash
        assert v.restoration["source"]["uri"] == r.uri and len(v.restoration["source"]["sha256"]) == 64
        assert v.restoration["generative"] is False  # the identity preset restores without a model
