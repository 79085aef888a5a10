"""One video's scores are the same number everywhere they are shown: the restorations table, the summary
seedvr-restore prints, the results notebook's recomputation and the MLflow run; and that number is what
an independent computation from the two files gives. The MLflow run spans the job."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys

import av
import mlflow
import numpy as np
import pytest
from skimage.metrics import mean_squared_error
from skimage.transform import downscale_local_mean

from jobs.restore.summary import fmt, model_line
from jobs.tables import table_refs
from jobs.tracking import tracking_uri
from seedvr.quality.video import HEADLINE_SCORES
from seedvr.video.info import VideoInfo
from tests.jobs.helpers import tiny_config, write_profile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FRAMES = 21  # fewer than the 32 frames a video's scores sample: every frame is scored
SCALE = 2


def _run(script: str, profile: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", script, "--profile", profile, *args], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": REPO, "COLUMNS": "200"}, capture_output=True,
                          text=True, timeout=600)


pytestmark = pytest.mark.slow  # two console-script runs, each starting its own engine: about 35 s


@pytest.fixture(scope="module")
def job(make_video, tmp_path_factory, spark):
    root = tmp_path_factory.mktemp("agree")
    src = root / "src"
    src.mkdir()
    make_video("agree", frames=FRAMES, size=(48, 64), seed=3, folder=src)
    cfg = tiny_config(str(root), model={"target": {"mode": "scale", "value": float(SCALE), "multiple": 2}},
                      segments={"segment_frames": 9, "context_frames": 2},
                      tracking={"enabled": True, "experiment": "agree"})
    profile = write_profile(cfg, str(root / "profile.yaml"))
    ingest = _run("jobs.catalog.command", profile, "--source", str(src))
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    restore = _run("jobs.restore.command", profile)
    assert restore.returncode == 0, restore.stderr[-3000:]
    tables = table_refs(cfg.tables)
    (row,) = [r.asDict(recursive=True) for r in tables.restorations.read(spark).collect()]
    assert row["status"] == "ok", row
    (video,) = [r.asDict() for r in tables.videos.read(spark).collect()]
    return cfg, restore.stdout, row, VideoInfo.from_dict(json.loads(video["info_json"]))


def _restore_run(cfg) -> tuple[mlflow.MlflowClient, object]:
    client = mlflow.MlflowClient(tracking_uri(cfg))
    runs = client.search_runs([client.get_experiment_by_name("agree").experiment_id])
    (run,) = [r for r in runs if r.info.run_name.startswith("restore-")]
    return client, run


def _decode(url: str) -> np.ndarray:
    """Every frame as RGB by PyAV alone, with the matrix and range the file is tagged with."""
    with av.open(url) as c:
        out = []
        for f in c.decode(video=0):
            assert f.colorspace == 1, "the test clips are tagged BT.709"  # AVCOL_SPC_BT709
            rng = "JPEG" if f.color_range == 2 else "MPEG"
            out.append(f.to_ndarray(format="rgb24", src_colorspace="ITU709", src_color_range=rng))
    return np.stack(out)


def test_lr_psnr_is_the_psnr_of_the_pooled_error_of_the_files(job) -> None:
    _, _, row, src_info = job
    out, src = _decode(row["output_uri"]), _decode(src_info.url)
    assert len(out) == len(src) == FRAMES and out.shape[1:3] == (src.shape[1] * SCALE, src.shape[2] * SCALE)
    down = downscale_local_mean(out.astype(np.float64), (1, SCALE, SCALE, 1))
    mse = np.mean([mean_squared_error(s.astype(np.float64), d) for s, d in zip(src, down, strict=True)])
    expected = 10 * np.log10(255.0**2 / mse)
    assert 20 < expected < 80  # a real comparison, not the cap of identical frames
    assert row["scores"]["lr_psnr_mean"] == pytest.approx(expected, abs=1e-6)


def test_table_summary_notebook_and_mlflow_show_the_same_scores(job) -> None:
    cfg, stdout, row, src_info = job
    from seedvr.quality.video import score_video_clip, video_scores  # what the results notebook calls

    table = row["scores"]
    assert set(HEADLINE_SCORES) <= set(table)
    # (c) the notebook's recomputation from the files
    notebook = video_scores(score_video_clip(src_info, row["output_uri"], isolate=False))
    assert set(notebook) == {k for k in table if not k.startswith("seam_")}
    for k, v in notebook.items():
        assert table[k] == pytest.approx(v, abs=1e-6), k
    # (b) the summary prints the table's headline values, in order, as plain digits
    lines = [ln for ln in stdout.splitlines() if row["video_id"] in ln]
    assert len(lines) == 1, stdout
    cells = [c.strip() for c in lines[0].split("│")]
    line = lines[0]
    assert [fmt(table[k]) for k in HEADLINE_SCORES] == cells[7:7 + len(HEADLINE_SCORES)], line
    assert not re.search(r"\de[+-]\d", line)  # no scientific notation
    assert "passes frames through" in stdout  # what the scores mean for the identity preset
    # (d) the MLflow run: the mean over one video is that video's value; the per-video table too
    client, run = _restore_run(cfg)
    metrics = run.data.metrics
    for k in (*HEADLINE_SCORES, "sharpness_mean"):
        assert metrics[f"score.{k}.mean_over_videos"] == pytest.approx(table[k], abs=1e-6), k
    per_video = json.loads(open(client.download_artifacts(run.info.run_id, "scores/per_video.json")).read())
    cols = per_video["columns"]
    (logged,) = [dict(zip(cols, r, strict=True)) for r in per_video["data"]]
    assert {k: logged[k] for k in table} == pytest.approx(table, abs=1e-6)


def test_the_mlflow_run_spans_the_job(job) -> None:
    cfg, stdout, row, _ = job
    _, run = _restore_run(cfg)
    wall_s = float(re.search(r"wall (\d+\.\d)s", stdout).group(1))
    duration_s = (run.info.end_time - run.info.start_time) / 1000
    assert run.info.status == "FINISHED"
    assert duration_s >= run.data.metrics["wall_s"] >= wall_s - 0.05
    started = row["started_at"].replace(tzinfo=dt.timezone.utc).timestamp()  # naive UTC in the table
    assert run.info.start_time / 1000 <= started + 1e-3


def test_the_summary_says_what_the_scores_mean_for_the_preset(tmp_path) -> None:
    note = model_line(tiny_config(str(tmp_path), preset="tiny-v2"))
    assert "random weights" in note and "noise" in note and "--preset seedvr2-3b --weights PATH_OR_URL" in note
    assert model_line(tiny_config(str(tmp_path), preset="seedvr2-3b")) is None
    assert [fmt(v) for v in (14100.3, 100.0, 35.517, 0.5, float("nan"))] == ["14,100", "100.0", "35.52", "0.50", ""]
