"""The same job against s3:// on a moto server on 127.0.0.1: sources, Delta tables and outputs in S3."""

from __future__ import annotations

import pytest
import s3fs

from jobs.catalog.register import ingest
from jobs.restore.pipeline import run_restore
from jobs.restore.selection import make_selection
from jobs.tables import ensure_tables, table_refs
from seedvr.provenance.verify import verify
from seedvr.video.probe import probe
from tests.jobs.helpers import make_catalog, tiny_config


@pytest.mark.slow
def test_restore_on_s3(spark, make_video, tmp_path, s3_bucket, moto_s3) -> None:
    fs = s3fs.S3FileSystem(endpoint_url=moto_s3, key="testing", secret="testing", skip_instance_cache=True)
    for p in make_catalog(make_video, str(tmp_path / "src"), n=2, frames=9, corrupt=1):
        fs.put(p, f"{s3_bucket}/incoming/{p.rsplit('/', 1)[-1]}")
    cfg = tiny_config(str(tmp_path), tables_root=f"s3://{s3_bucket}/tables",
                      output_root=f"s3://{s3_bucket}/outputs")
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    ing = ingest(spark, cfg, tables, source=f"s3://{s3_bucket}/incoming/", run_id="i")
    assert (ing.new, ing.probed_ok, ing.probed_failed) == (3, 2, 1)
    assert all(r.etag for r in tables.videos.read(spark).collect())

    rep = run_restore(spark, cfg, make_selection(), track=False)
    assert (rep.videos_ok, rep.videos_failed) == (2, 1)
    for r in tables.restorations.read(spark).collect():
        if r.status == "ok":
            assert r.output_uri.startswith(f"s3://{s3_bucket}/outputs/videos/")
            assert fs.exists(r.output_uri) and probe(r.output_uri).num_frames == 9
            # Signed on the object store too (source read through s3fs), and verifiable by its URL.
            v = verify(r.output_uri)
            assert v.ok and v.label == r.manifest_label and v.restoration["source"]["uri"] == r.uri
    assert fs.exists(f"{s3_bucket}/tables/restorations/_delta_log")
    # Idempotent on S3 too.
    assert ingest(spark, cfg, tables, source=f"s3://{s3_bucket}/incoming/", run_id="i2").unchanged == 3
    assert run_restore(spark, cfg, make_selection(), track=False).selected == 0


@pytest.mark.slow
def test_console_scripts_on_s3_with_a_failed_video_and_a_missing_bucket(make_video, tmp_path, s3_bucket,
                                                                         moto_s3, spark) -> None:
    import os
    import subprocess
    import sys

    from tests.jobs.helpers import write_profile

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    fs = s3fs.S3FileSystem(endpoint_url=moto_s3, key="testing", secret="testing", skip_instance_cache=True)
    for p in make_catalog(make_video, str(tmp_path / "src"), n=1, frames=5, corrupt=1):
        fs.put(p, f"{s3_bucket}/incoming/{p.rsplit('/', 1)[-1]}")
    cfg = tiny_config(str(tmp_path), tables_root=f"s3://{s3_bucket}/tables", output_root=f"s3://{s3_bucket}/out")
    profile = write_profile(cfg, str(tmp_path / "s3.yaml"))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", *args, "--profile", profile], cwd=repo, capture_output=True,
                              text=True, timeout=600, env={**os.environ, "PYTHONPATH": repo})

    ing = run("jobs.catalog.command", "--source", f"s3://{s3_bucket}/incoming/")
    assert ing.returncode == 0 and "probed ok 1, probe failed 1" in ing.stdout, ing.stderr[-2000:]
    res = run("jobs.restore.command", "--no-mlflow")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "1 restored, 1 failed" in res.stdout and "Traceback" not in res.stderr
    failed = [r for r in table_refs(cfg.tables).restorations.read(spark).collect() if r.status == "failed"]
    assert len(failed) == 1 and failed[0].error_class not in (None, "internal")

    missing = f"nope-{s3_bucket}"
    bad = run("jobs.restore.command", "--no-mlflow", "--force", "--output-root", f"s3://{missing}/out")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, bad.stderr[-3000:]
    assert f"bucket {missing!r} does not exist" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert not fs.exists(missing)  # the job never creates buckets
    no_tables = run("jobs.restore.command", "--no-mlflow", "--tables-root", f"s3://{missing}/tables")
    assert no_tables.returncode == 2 and "Traceback" not in no_tables.stderr, no_tables.stderr[-3000:]
    assert f"bucket {missing!r} does not exist" in no_tables.stderr and "NoSuchBucket" not in no_tables.stderr
