"""MLflow from the driver: one run with params (no credentials), counts, throughput, score
distributions and artifacts, in sqlite under the job's work folder."""

from __future__ import annotations

import mlflow

from jobs.catalog.register import ingest
from jobs.restore.pipeline import run_restore
from jobs.restore.selection import make_selection
from jobs.tables import ensure_tables, table_refs
from jobs.tracking import run_window_ms, scrub_url, tracking_uri
from tests.jobs.helpers import make_catalog, tiny_config


def test_scrub_url_drops_credentials() -> None:
    assert scrub_url("s3://AKIA:secret@bucket/w.pth?X-Amz-Signature=abc") == "s3://bucket/w.pth"
    assert scrub_url("/local/w.pth") == "/local/w.pth"


def test_run_window_is_the_jobs_start_to_now() -> None:
    import datetime as dt
    from types import SimpleNamespace

    import pandas as pd

    now = 1_800_000_000.0
    no_rows = SimpleNamespace(wall_s=190.0, restorations=pd.DataFrame())
    assert run_window_ms(no_rows, now) == (int((now - 190) * 1000), int(now * 1000))
    started = dt.datetime.fromtimestamp(now - 200, dt.timezone.utc).replace(tzinfo=None)  # rows: naive UTC
    rows = SimpleNamespace(wall_s=190.0, restorations=pd.DataFrame({"started_at": [started, None]}))
    assert run_window_ms(rows, now) == (int((now - 200) * 1000), int(now * 1000))


def test_one_run_with_params_metrics_and_artifacts(spark, make_video, tmp_path) -> None:
    make_catalog(make_video, str(tmp_path / "src"), n=2, frames=9)
    cfg = tiny_config(str(tmp_path), tracking={"enabled": True, "experiment": "t"},
                      model={"weights_sha256": None})
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    ingest(spark, cfg, tables, source=str(tmp_path / "src"), run_id="i")
    rep = run_restore(spark, cfg, make_selection())
    assert rep.mlflow_run_id
    uri = tracking_uri(cfg)
    assert uri.startswith("sqlite:///") and str(tmp_path / "work") in uri
    client = mlflow.MlflowClient(tracking_uri=uri)
    run = client.get_run(rep.mlflow_run_id)
    p, m = run.data.params, run.data.metrics
    assert p["preset"] == "identity" and p["config_hash"] == rep.config_hash and p["engine"] == "sail"
    assert not any(k in p for k in ("aws_secret_access_key", "token"))
    # How outputs were signed is recorded; where the key is, never (no "signing_key" param, no PEM).
    assert p["disclosure"] == "test certificate" and not any("BEGIN" in str(v) for v in p.values())
    # The thread budget of a restore task: one restore at a time per device; torch pinned by the config.
    assert p["threads.tasks"] == "1" and p["threads.torch"] == "1" and int(p["threads.cores"]) >= 1
    assert int(p["threads.opencv"]) >= 1
    assert m["videos_ok"] == 2 and m["segments_restored"] == 4 and m["frames_per_s_per_gpu"] > 0
    assert m["waves"] >= 1 and m["wave_merge_s.total"] > 0  # the commit cost of the waves
    # How the waves were sized: nothing measured yet, and the identity preset is estimated to cost nothing.
    assert p["wave_minutes"] == "10.0" and p["wave_rate_source"] == "estimate for preset identity"
    assert float(p["wave_rate_s_per_mpix_frame"]) == 0.0 and m["wave_expected_s.max"] == 0.0
    assert "score.sharpness_mean.p50_over_videos" in m and "score.seam_max.p95_over_videos" in m
    # The run spans the job, not the few hundred milliseconds of logging at its end.
    assert run.info.status == "FINISHED"
    assert run.info.end_time - run.info.start_time >= rep.wall_s * 1000
    files = {f.path for f in client.list_artifacts(rep.mlflow_run_id)}
    assert {"scores", "strips"} <= files
    strips = [f.path for f in client.list_artifacts(rep.mlflow_run_id, "strips")]
    assert len(strips) == 2 and all(s.endswith(".png") for s in strips)


def test_frame_strips_of_a_crafted_video_id_stay_in_the_run(spark, make_video, tmp_path) -> None:
    import os

    from mlflow.tracking import MlflowClient

    paths = make_catalog(make_video, str(tmp_path / "src"), n=1, frames=5)
    hostile = "../../../../../../tmp/strip-escape"
    if os.path.exists("/tmp/strip-escape.png"):
        os.remove("/tmp/strip-escape.png")
    cfg = tiny_config(str(tmp_path), tracking={"enabled": True, "experiment": "crafted"})
    tables = table_refs(cfg.tables)
    ensure_tables(spark, tables)
    ingest(spark, cfg, tables, source=str(tmp_path / "src"), run_id="i",
           manifest=[{"path": paths[0], "video_id": hostile}])
    rep = run_restore(spark, cfg, make_selection())
    assert rep.videos_ok == 1 and rep.mlflow_run_id
    assert not os.path.exists("/tmp/strip-escape.png")
    client = MlflowClient(tracking_uri(cfg))
    names = [a.path for a in client.list_artifacts(rep.mlflow_run_id, "strips")]
    assert len(names) == 1 and names[0].startswith("strips/tmp_strip-escape-") and ".." not in names[0]
