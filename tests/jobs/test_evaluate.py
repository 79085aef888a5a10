import json
from pathlib import Path

import pandas as pd
import pytest

from jobs.evaluate.command import main, parse_preset
from jobs.evaluate.core import restore_clip
from jobs.evaluate.pairs import pairs_from_folders, pairs_from_rows
from seedvr.errors import ConfigError
from seedvr.restorer import IdentityRestorer
from seedvr.synthetic import DegradationSpec, degrade, make_clip, write_mp4


def _pairs(root: Path, n: int = 2, frames: int = 9) -> tuple[Path, Path]:
    lq_dir, hq_dir = root / "lq", root / "hq"
    for i in range(n):
        hq = make_clip(f"procedural:{i}", frames, (32, 48), "pan", seed=i)
        lq = degrade(hq, DegradationSpec(blur_sigma=0.8, downscale=2, noise_sigma=2), seed=i)
        write_mp4(hq, hq_dir / f"clip{i}.mp4", crf=0)
        write_mp4(lq, lq_dir / f"clip{i}.mp4", crf=0)
    return lq_dir, hq_dir


def test_parse_preset():
    assert parse_preset("identity") == ("identity", {})
    assert parse_preset("tiny-v2:steps=2,color_fix=adain") == ("tiny-v2", {"steps": 2, "color_fix": "adain"})
    with pytest.raises(ConfigError, match="key=value"):
        parse_preset("tiny-v2:steps")


def test_pairs_match_by_name_and_keep_unmatched(tmp_path):
    lq_dir, hq_dir = tmp_path / "lq", tmp_path / "hq"
    lq_dir.mkdir()
    hq_dir.mkdir()
    for name in ("a.mp4", "b.mkv", "notes.txt"):
        (lq_dir / name).write_bytes(b"x")
    (hq_dir / "a.mov").write_bytes(b"x")
    pairs = pairs_from_folders(lq_dir, hq_dir)
    assert [(p.video_id, p.hq_uri is not None) for p in pairs] == [("a", True), ("b", False)]
    with pytest.raises(ConfigError, match="not a folder"):
        pairs_from_folders(tmp_path / "missing", None)
    with pytest.raises(ConfigError, match="unique video_id"):
        pairs_from_rows([{"path": "x.mp4", "video_id": "v"}, {"path": "y.mp4", "video_id": "v"}])


def test_segmented_identity_restore_is_exact_and_reports_joins():
    clip = make_clip("procedural:0", 13, (16, 16), "pan", seed=0)
    out, joins = restore_clip(IdentityRestorer(), clip, video_id="v", seed=0, target=None,
                              segment_frames=5, context_frames=1)
    assert (out == clip).all()
    assert joins == [5, 9]


def test_a_broken_clip_fails_its_row_only(tmp_path):
    lq_dir, hq_dir = _pairs(tmp_path, n=1, frames=5)
    (lq_dir / "broken.mp4").write_bytes(b"not a video")
    out = tmp_path / "report"
    rc = main(["--lq", str(lq_dir), "--hq", str(hq_dir), "--out", str(out), "--no-delta", "--no-mlflow",
               "--no-plots", "--set", f"storage.work_dir={tmp_path / 'work'}"])
    assert rc == 0
    rows = pd.read_csv(out / "evaluation.csv").set_index("video_id")
    assert rows.loc["broken", "error_class"] == "corrupt"
    assert rows.loc["clip0", "psnr_mean"] > 30


def test_evaluate_end_to_end(tmp_path, spark):
    import mlflow

    lq_dir, hq_dir = _pairs(tmp_path)
    out, work, tables = tmp_path / "report", tmp_path / "work", tmp_path / "tables"
    rc = main(["--lq", str(lq_dir), "--hq", str(hq_dir), "--preset", "identity", "--preset", "identity:scale=2",
               "--segment-frames", "5", "--context-frames", "1", "--max-frames", "0", "--metric", "lpips",
               "--out", str(out), "--set", f"storage.work_dir={work}", "--set", f"tables.root={tables}"],
              spark=spark)
    assert rc == 0

    # report files, one row per (video, preset)
    csv = pd.read_csv(out / "evaluation.csv")
    assert sorted(zip(csv.video_id, csv.preset, strict=True)) == [
        ("clip0", "identity"), ("clip0", "identity:scale=2"), ("clip1", "identity"), ("clip1", "identity:scale=2")]
    assert (csv.psnr_mean > 25).all() and (csv.segments == 2).all() and csv.seam_max.notna().all()
    assert csv.skipped.str.contains("lpips: skipped: weights not given").all()
    md = (out / "evaluation.md").read_text()
    assert "## Side by side" in md and "clip0" in md and "clip1" in md
    assert all((out / p).exists() for p in ("plots/histograms.png", "plots/clip0_strip.png"))

    # Delta table
    rows = [r.asDict(recursive=True) for r in
            spark.read.format("delta").load(str(tables / "evaluations")).collect()]
    assert len(rows) == 4 and len({r["eval_run_id"] for r in rows}) == 1
    by = {(r["video_id"], r["preset"]): r for r in rows}
    assert by[("clip1", "identity")]["psnr_mean"] == pytest.approx(
        csv.set_index(["video_id", "preset"]).loc[("clip1", "identity"), "psnr_mean"])
    assert by[("clip1", "identity")]["scores"]["ssim_min"] > 0.5
    assert json.loads(by[("clip0", "identity")]["restorer_info"])["preset"] == "identity"

    # MLflow run
    run_id = rows[0]["mlflow_run_id"]
    mlflow.set_tracking_uri(f"sqlite:///{work.resolve() / 'mlflow.db'}")
    run = mlflow.get_run(run_id)
    summary = json.loads((out / "summary.json").read_text())
    assert run.data.metrics["identity/psnr_mean"] == pytest.approx(summary["identity"]["psnr_mean"])
    assert run.data.metrics["identity_scale_2/videos_ok"] == 2
    assert run.data.params["pairs"] == "2"


def test_catalog_rows_without_reference_get_no_reference_scores(tmp_path):
    from seedvr.synthetic import make_sample_catalog

    rows = make_sample_catalog(tmp_path / "clips", clips=4, frames=5, size=(32, 48), audio=False)
    rows = [r for r in rows if r["content_class"] == "ai_generated"] + rows[:1]
    (tmp_path / "catalog.json").write_text(json.dumps(rows))
    out = tmp_path / "report"
    rc = main(["--catalog", str(tmp_path / "catalog.json"), "--out", str(out), "--no-delta", "--no-mlflow",
               "--no-plots", "--set", f"storage.work_dir={tmp_path / 'work'}"])
    assert rc == 0
    csv = pd.read_csv(out / "evaluation.csv").set_index("video_id")
    ai = csv.loc[rows[0]["video_id"]]
    assert pd.isna(ai["psnr_mean"]) and ai["sharpness_mean"] > 0 and (ai["out_width"], ai["out_height"]) == (96, 64)
    assert 10 < csv.loc[rows[1]["video_id"], "psnr_mean"] < 60  # heavily degraded archive clip vs its truth


def test_console_script_with_broken_and_special_files_exits_0(tmp_path):
    import os
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    lq_dir, hq_dir = _pairs(tmp_path, n=1, frames=5)
    (lq_dir / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(1024))
    os.mkfifo(lq_dir / "pipe.mp4")
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "jobs.evaluate.command", "--lq", str(lq_dir), "--hq", str(hq_dir),
                           "--out", str(out), "--no-delta", "--no-mlflow", "--no-plots",
                           "--set", f"storage.work_dir={tmp_path / 'work'}"], cwd=repo, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PYTHONPATH": repo})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    rows = pd.read_csv(out / "evaluation.csv").set_index("video_id")
    assert rows.loc["pipe", "error_class"] == "not_a_file"
    assert rows.loc["broken", "error_class"] not in ("internal", None)
    assert rows.loc["clip0", "psnr_mean"] > 30
