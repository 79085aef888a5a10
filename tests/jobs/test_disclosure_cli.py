"""Signed provenance as users meet it: seedvr-restore signs every output, seedvr-verify judges the files,
a bad signing key stops the job before any task, and disclosure can be turned off (and says so)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from jobs.tables import table_refs
from tests.jobs.helpers import make_catalog, tiny_config, write_profile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(module: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": REPO}, timeout=timeout)


def _catalog(make_video, tmp_path: Path, name: str) -> tuple[object, str]:
    root = tmp_path / name
    make_catalog(make_video, str(tmp_path / "src"), n=2, frames=9, corrupt=1)
    root.mkdir()
    cfg = tiny_config(str(root))
    profile = write_profile(cfg, str(root / "profile.yaml"))
    ing = _run("jobs.catalog.command", "--profile", profile, "--source", str(tmp_path / "src"), "--no-mlflow")
    assert ing.returncode == 0, ing.stderr[-2000:]
    return cfg, profile


def _flip_video_byte(path: str) -> None:
    data = bytearray(Path(path).read_bytes())
    data[data.find(b"mdat") + 64] ^= 0x01
    Path(path).write_bytes(bytes(data))


def test_restored_files_verify_and_a_tampered_one_does_not(spark, make_video, tmp_path) -> None:
    cfg, profile = _catalog(make_video, tmp_path, "signed")
    run = _run("jobs.restore.command", "--profile", profile, "--no-mlflow", "--job-id", "123", "--job-run-id", "456")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "2 restored, 1 failed" in run.stdout and "TEST certificate" in run.stdout
    rows = [r for r in table_refs(cfg.tables).restorations.read(spark).collect() if r.status == "ok"]
    outs = sorted(r.output_uri for r in rows)
    assert len(outs) == 2 and all(r.disclosed and r.disclosure == "embedded" and r.manifest_label for r in rows)

    ok = _run("seedvr.cli.verify", *outs)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count(": OK (Valid") == 2 and "2 of 2 verified" in ok.stdout
    assert "TEST certificate" in ok.stdout and "source " in ok.stdout
    assert f"run {rows[0].run_id}, job 123/456" in ok.stdout  # the Databricks job and run ids

    _flip_video_byte(outs[0])
    bad = _run("seedvr.cli.verify", *outs)
    assert bad.returncode == 1 and f"{outs[0]}: FAILED" in bad.stdout and "1 of 2 verified" in bad.stdout
    assert "mismatch" in bad.stdout

    src = sorted(str(p) for p in (tmp_path / "src").glob("*.mp4") if "broken" not in p.name)[0]
    unsigned = _run("seedvr.cli.verify", src)
    assert unsigned.returncode == 1 and "UNSIGNED" in unsigned.stdout


def test_a_bad_signing_key_stops_the_job_before_any_task(spark, make_video, tmp_path) -> None:
    cfg, profile = _catalog(make_video, tmp_path, "badkey")
    (tmp_path / "junk.pem").write_text("not a key")
    run = _run("jobs.restore.command", "--profile", profile, "--no-mlflow",
               "--set", f"disclosure.signing_key={tmp_path / 'junk.pem'}",
               "--set", f"disclosure.certificate_chain={tmp_path / 'junk.pem'}")
    assert run.returncode == 2, run.stderr[-2000:]
    err = run.stderr.strip().splitlines()
    assert len(err) == 1 and "junk.pem" in err[0] and "PEM private key" in err[0]
    t = table_refs(cfg.tables)
    assert t.segments.read(spark).count() == 0 and t.restorations.read(spark).count() == 0


def test_disclosure_off_is_explicit_and_recorded(spark, make_video, tmp_path) -> None:
    cfg, profile = _catalog(make_video, tmp_path, "off")
    run = _run("jobs.restore.command", "--profile", profile, "--no-mlflow", "--set", "disclosure.enabled=false")
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [r for r in table_refs(cfg.tables).restorations.read(spark).collect() if r.status == "ok"]
    assert len(rows) == 2 and all(not r.disclosed and r.disclosure == "disabled" for r in rows)
    assert not any(Path(r.output_uri + ".c2pa").exists() for r in rows)
    check = _run("seedvr.cli.verify", rows[0].output_uri)
    assert check.returncode == 1 and "UNSIGNED" in check.stdout
