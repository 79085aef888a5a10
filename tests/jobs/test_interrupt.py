"""Ctrl-C during `seedvr-restore`, with a real SIGINT: one line, exit 130 in seconds, and the rerun
recomputes nothing that was finished before the interrupt."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time

from jobs.tables import table_refs
from tests.jobs.helpers import tiny_config, write_profile
from udfs.segment_io import RECEIPT_SUFFIX

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# From the signal to the process gone: the engine is asked to cancel, then the process leaves.
STOP_BOUND_S = 20.0


def _cmd(script: str, profile: str, *args: str) -> list[str]:
    return [sys.executable, "-m", script, "--profile", profile, *args]


def test_ctrl_c_stops_at_once_and_the_rerun_reuses_finished_segments(spark, make_video, tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        make_video(f"v{i}", frames=9, folder=src, seed=i)
    make_video("zz-hangs", frames=9, folder=src, seed=9)
    # One restore slot, one wave: the segments run one after another, and the last video's decode hangs,
    # so the run is certainly still going when the signal arrives.
    cfg = tiny_config(str(tmp_path), execution={"gpu_slots": 1, "decode_timeout_s": 120})
    profile = write_profile(cfg, str(tmp_path / "profile.yaml"))
    env = {**os.environ, "PYTHONPATH": REPO}
    ing = subprocess.run(_cmd("jobs.catalog.command", profile, "--source", str(src), "--no-mlflow"), cwd=REPO,
                         env=env, capture_output=True, text=True, timeout=300)
    assert ing.returncode == 0, ing.stderr

    proc = subprocess.Popen(_cmd("jobs.restore.command", profile, "--no-mlflow"), cwd=REPO,
                            env={**env, "SEEDVR_DECODE_FAULT": "hang:zz-hangs"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    receipts = os.path.join(cfg.storage.output_root, "segments", "**", f"*{RECEIPT_SUFFIX}")
    deadline = time.monotonic() + 240
    # The engine does not promise an order: wait until at least two videos' worth of segments are done.
    while len(glob.glob(receipts, recursive=True)) < 4 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    assert len(glob.glob(receipts, recursive=True)) >= 4

    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    stopped_after = time.monotonic() - t0
    assert proc.returncode == 130, err
    assert stopped_after < STOP_BOUND_S
    lines = [ln for ln in err.splitlines() if ln.strip()]
    # Progress lines (throttled, non-terminal) until the signal, then the one line, then nothing.
    assert lines[-1] == "interrupted: finished segments and videos are kept; run the same command to resume"
    assert all(ln.startswith("restore: segments ") for ln in lines[:-1]), lines
    assert "Traceback" not in out

    finished = len(glob.glob(receipts, recursive=True))  # every segment finished before the process left
    assert 4 <= finished <= 6  # the hanging video never finishes one
    tables = table_refs(cfg.tables)
    assert tables.restorations.read(spark).count() == 0  # nothing was committed: the wave never ended

    rerun = subprocess.run(_cmd("jobs.restore.command", profile, "--no-mlflow"), cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert (f"4 restored, 0 failed, {8 - finished} segments restored, 0 skipped, {finished} reused from an "
            "interrupted run") in rerun.stdout
    rows = {r.video_id: r for r in tables.restorations.read(spark).collect()}
    assert sorted(v.rsplit("-", 1)[0] for v in rows) == ["v0", "v1", "v2", "zz-hangs"] and {r.status for r in rows.values()} == {"ok"}
    # Every committed video's segment files and receipts are gone: only the outputs remain.
    assert glob.glob(os.path.join(cfg.storage.output_root, "segments", "**", "*.*"), recursive=True) == []
    assert "scratch: freed" in rerun.stdout
