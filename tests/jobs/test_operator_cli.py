"""What an operator meets through the console scripts: a model choice checked before any task, a dry run,
progress that does not flood a log, absolute URIs in the tables, and a demo that says what its model is."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

from jobs.tables import table_refs
from tests.jobs.helpers import make_catalog, tiny_config, write_profile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(module: str, *args: str, cwd: str = REPO, env: dict | None = None,
         timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": REPO, **(env or {})}, timeout=timeout)


def _ingested(spark, make_video, tmp_path, n: int = 2, **cfg_over) -> tuple[object, str]:
    make_catalog(make_video, str(tmp_path / "src"), n=n, frames=9)
    cfg = tiny_config(str(tmp_path), **cfg_over)
    profile = write_profile(cfg, str(tmp_path / "profile.yaml"))
    ing = _run("jobs.catalog.command", "--profile", profile, "--source", str(tmp_path / "src"), "--no-mlflow")
    assert ing.returncode == 0, ing.stderr[-2000:]
    return cfg, profile


def test_a_bad_model_choice_fails_in_one_line_before_any_task(spark, make_video, tmp_path) -> None:
    cfg, profile = _ingested(spark, make_video, tmp_path)
    typo = _run("jobs.restore.command", "--profile", profile, "--no-mlflow", "--preset", "tiny-v3")
    assert typo.returncode == 2, typo.stderr[-2000:]
    assert typo.stderr.strip().splitlines() == [
        typo.stderr.strip()] and "unknown preset 'tiny-v3'; did you mean 'tiny-v2'?" in typo.stderr
    no_weights = _run("jobs.restore.command", "--profile", profile, "--no-mlflow", "--preset", "seedvr2-3b")
    assert no_weights.returncode == 2 and len(no_weights.stderr.strip().splitlines()) == 1
    assert "preset seedvr2-3b needs --weights" in no_weights.stderr
    missing = _run("jobs.restore.command", "--profile", profile, "--no-mlflow", "--preset", "seedvr2-3b",
                   "--weights", str(tmp_path / "absent.safetensors"))
    assert missing.returncode == 2 and "absent.safetensors' not found" in missing.stderr
    tables = table_refs(cfg.tables)
    # Nothing ran: no task wrote a segment, a failed row or a plan.
    assert tables.segments.read(spark).count() == 0 and tables.restorations.read(spark).count() == 0
    assert tables.segment_plan.read(spark).count() == 0


def test_dry_run_prints_the_plan_and_writes_nothing(spark, make_video, tmp_path) -> None:
    cfg, profile = _ingested(spark, make_video, tmp_path, n=3)
    dry = _run("jobs.restore.command", "--profile", profile, "--no-mlflow", "--dry-run")
    assert dry.returncode == 0, dry.stderr[-2000:]
    out = dry.stdout
    assert "dry run: nothing was restored or written" in out
    assert "3 selected, 0 not restorable" in out
    # 9 frames in 5-frame segments with 1 of context: 2 segments each, 6 in all, one wave.
    assert "6 to restore of 6 planned, in 1 wave" in out and "48x32 (3)" in out
    # UT Video intermediates: about 1.08 bytes per output pixel per frame, overlaps counted.
    frames = 3 * (5 + 5)
    assert f"({frames:,} frames with overlaps)" in out
    assert f"up to {frames * 48 * 32 * 3 * 0.36 / 1000:,.1f} KB of utvideo" in out
    tables = table_refs(cfg.tables)
    assert tables.segment_plan.read(spark).count() == 0 and tables.restorations.read(spark).count() == 0
    assert not glob.glob(os.path.join(cfg.storage.output_root, "**", "*.*"), recursive=True)


def test_progress_in_a_log_is_throttled_and_tables_hold_absolute_uris(spark, make_video, tmp_path) -> None:
    """Run from another folder with relative paths in the profile: every URI recorded is absolute."""
    make_catalog(make_video, str(tmp_path / "run" / "src"), n=3, frames=9)
    import yaml

    doc = tiny_config(str(tmp_path), execution={"gpu_slots": 1, "wave_segments": 2}).model_dump(
        by_alias=True, mode="json")
    doc["tables"]["root"] = "rel/tables"
    doc["storage"].update(output_root="rel/outputs", work_dir="rel/work")
    profile = str(tmp_path / "profile.yaml")
    with open(profile, "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f)
    run_dir = str(tmp_path / "run")
    ing = _run("jobs.catalog.command", "--profile", profile, "--source", "src", "--no-mlflow", cwd=run_dir)
    assert ing.returncode == 0, ing.stderr[-2000:]
    # A long interval: each stage prints its first and its last count, nothing between, nothing twice.
    res = _run("jobs.restore.command", "--profile", profile, "--no-mlflow", cwd=run_dir,
               env={"SEEDVR_PROGRESS_INTERVAL_S": "3600"})
    assert res.returncode == 0, res.stderr[-2000:]
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert [ln.split(",")[0] for ln in lines] == [
        "restore: segments 0/6 (0%)", "restore: segments 6/6 (100%)",
        "restore: videos 0/3 (0%)", "restore: videos 3/3 (100%)"], res.stderr
    assert "3 restored, 0 failed" in res.stdout

    from jobs.config import load_config

    tables = table_refs(load_config(profile, {"tables": {"root": os.path.join(run_dir, "rel", "tables")}}).tables)
    rows = tables.restorations.read(spark).select("uri", "output_uri").collect()
    assert len(rows) == 3
    for r in rows:
        assert os.path.isabs(r.uri) and os.path.isabs(r.output_uri), r
        assert r.output_uri.startswith(os.path.join(run_dir, "rel", "outputs"))
    assert all(os.path.isabs(r.uri) for r in tables.videos.read(spark).select("uri").collect())


def test_the_demo_says_its_model_has_random_weights(tmp_path) -> None:
    work = str(tmp_path / "demo")
    demo = _run("jobs.demo", "--work-dir", work, "--clips", "1", "--frames", "5", "--size", "32x48",
                "--no-mlflow", env={"SEEDVR_PROGRESS_INTERVAL_S": "3600"})
    assert demo.returncode == 0, demo.stderr[-2000:]
    lines = demo.stdout.strip().splitlines()
    assert lines[0].startswith("note: preset tiny-v2 is a tiny SeedVR with seeded random weights"), lines
    assert "--preset seedvr2-3b --weights PATH_OR_URL" in lines[0]
    # The summary says it again, next to the scores it qualifies.
    said = [ln for ln in lines[1:] if "seeded random weights" in ln]
    assert len(said) == 1 and said[0].startswith("model: preset tiny-v2 has seeded random weights")
    assert "--preset seedvr2-3b --weights PATH_OR_URL" in said[0]
    assert "1 restored, 0 failed" in demo.stdout
    assert len([ln for ln in demo.stderr.splitlines() if ln.strip()]) <= 4, demo.stderr
