"""Kill the job in a subprocess after a segment result is staged, run it again, and compare the final
tables with those of an uninterrupted run; the rerun must not recompute staged segments."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from jobs.catalog.register import ingest
from jobs.restore.pipeline import run_restore
from jobs.restore.selection import make_selection
from jobs.restore.staging import KILL_AFTER_STAGED_ENV
from jobs.tables import ensure_tables, table_refs
from seedvr.video.storage import sha256_file
from tests.jobs.helpers import make_catalog, table_records, tiny_config, write_profile
from udfs import model_cache
from udfs.restore_segments import KILL_AFTER_SEGMENTS_ENV

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Columns that legitimately differ between runs: ids, clocks, timings, the executing thread, and the code
# version (its git sha moves when a commit lands between the reference run and the killed one).
# The signed file's bytes, its manifest's label and digest change with every signature: the video packets
# and the manifests' stated content are compared instead (below).
VOLATILE = ("run_id", "staged_at", "started_at", "finished_at", "read_s", "restore_s", "write_s", "total_s",
            "stitch_s", "worker", "planned_at", "code_version", "reused", "output_sha256", "manifest_label",
            "manifest_sha256", "sign_s")


def _video_packets_sha256(path: str) -> str:
    import hashlib

    import av

    h = hashlib.sha256()
    with av.open(path) as c:
        for pkt in c.demux(video=0):
            h.update(bytes(pkt))
    return h.hexdigest()


def _stated(path: str, root: str) -> dict:
    """The manifest's content without this run's ids (the resumed run is another run)."""
    from seedvr.provenance.verify import stated_content

    c = stated_content(path)
    for a in c["assertions"]:
        if a["label"] == "org.seedvr.restoration":
            a["data"] = {k: v for k, v in a["data"].items() if k not in ("run_id", "code_version")}
    for a in c["assertions"]:
        for act in a.get("data", {}).get("actions", []):
            act.pop("softwareAgent", None)
    c.pop("claim_generator_info", None)
    return json.loads(json.dumps(c).replace(root, "<root>"))


def _normalised(spark, ref, root: str) -> list[dict]:
    rows = table_records(spark, ref, drop=VOLATILE)
    for r in rows:
        for k in ("intermediate_uri", "output_uri"):
            if r.get(k):
                r[k] = r[k].replace(root, "<root>")
    return sorted(rows, key=repr)


def _setup(spark, source: str, root: str, **over):
    cfg = tiny_config(root, execution={"gpu_slots": 1, "wave_segments": 1}, **over)
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    ingest(spark, cfg, tables, source=source, run_id="ingest")
    return cfg, tables


@pytest.mark.slow
@pytest.mark.parametrize("hook, at, staged, merged, reused", [
    # after the 2nd staging append: wave 1 merged, wave 2 staged but not merged
    (KILL_AFTER_STAGED_ENV, "2", 2, 1, 0),
    # inside the UDF, right after the 3rd segment file and its receipt were written: that segment is
    # neither staged nor merged, but it is finished, so the rerun takes it as it is
    (KILL_AFTER_SEGMENTS_ENV, "3", 2, 2, 1),
])
def test_killed_run_resumes_to_the_same_tables(spark, make_video, tmp_path, hook, at, staged, merged,
                                               reused) -> None:
    source = str(tmp_path / "src")
    make_catalog(make_video, source, n=2, frames=9)  # 2 videos x 2 segments, one segment per wave

    # Reference: uninterrupted.
    ref_cfg, ref_tables = _setup(spark, source, str(tmp_path / "ref"))
    run_restore(spark, ref_cfg, make_selection(), track=False)

    cfg, tables = _setup(spark, source, str(tmp_path / "run"))
    profile = write_profile(cfg, str(tmp_path / "profile.yaml"))
    env = {**os.environ, hook: at, "PYTHONPATH": REPO}
    proc = subprocess.run([sys.executable, "-m", "jobs.restore.command", "--profile", profile, "--no-mlflow"],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert tables.segment_staging.read(spark).count() == staged
    assert tables.segments.read(spark).count() == merged
    assert tables.restorations.read(spark).count() == 0

    model_cache.reset_stats()
    rep = run_restore(spark, cfg, make_selection(), track=False)
    assert rep.recovered_segments == staged - merged  # staged-but-unmerged rows of the killed run
    # 4 planned, 2 were merged; of the other 2, `reused` were finished before the kill
    assert model_cache.STATS["restore_calls"] == 2 - reused == rep.restored_segments
    assert rep.reused_segments == reused
    assert rep.videos_ok == 2

    for kind in ("segments", "restorations", "segment_plan", "videos"):
        got = _normalised(spark, getattr(tables, kind), str(tmp_path / "run"))
        want = _normalised(spark, getattr(ref_tables, kind), str(tmp_path / "ref"))
        if kind == "videos":
            got = [{k: v for k, v in r.items() if k not in ("added_at", "probed_at", "added_date")} for r in got]
            want = [{k: v for k, v in r.items() if k not in ("added_at", "probed_at", "added_date")} for r in want]
        diff = {k for g, w in zip(got, want, strict=False) for k in g if g.get(k) != w.get(k)}
        assert got == want, f"{kind}: columns differ: {sorted(diff)}"
    # No duplicated keys, and every final file is complete (its digest matches the recorded one).
    segs = tables.segments.read(spark).collect()
    assert len({(s.video_id, s.segment_index) for s in segs}) == len(segs) == 4
    ref_out = {r.video_id: r for r in ref_tables.restorations.read(spark).collect()}
    for r in tables.restorations.read(spark).collect():
        assert sha256_file(r.output_uri) == r.output_sha256
        # The same pictures, and the same signed statement about them, as the uninterrupted run's.
        ref = ref_out[r.video_id]
        assert _video_packets_sha256(r.output_uri) == _video_packets_sha256(ref.output_uri)
        assert _stated(r.output_uri, str(tmp_path / "run")) == _stated(ref.output_uri, str(tmp_path / "ref"))
    # Committed videos' segment files and receipts are freed; nothing else is left behind.
    leftovers = [f for _, _, fs in os.walk(cfg.storage.output_root) for f in fs if not f.endswith(".mp4")]
    assert leftovers == []
    assert rep.freed_videos == 2 and rep.freed_bytes > 0
