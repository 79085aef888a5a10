"""A night over a catalog that mixes good videos with broken and hostile inputs, through the console
scripts: every good video is restored, every bad one is a failed row with a specific cause, exit 0."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

import av
import numpy as np
import pytest

from jobs.tables import table_refs
from tests.jobs.helpers import tiny_config, write_profile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The job process (engine, model, pipeline) plus its decoding workers stay below this on tiny inputs.
PEAK_RSS_BOUND_MB = 2500


def _ffv1(path: str, size: tuple[int, int], frames: int) -> None:
    """A flat FFV1 MKV: a few hundred KB on disk that decodes to a very large picture."""
    with av.open(path, "w") as c:
        s = c.add_stream("ffv1", rate=12)
        s.height, s.width = size
        s.pix_fmt = "yuv420p"
        for _ in range(frames):
            frame = av.VideoFrame.from_ndarray(np.zeros((size[0], size[1], 3), np.uint8), format="rgb24")
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _run(script: str, profile: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", script, "--profile", profile, *args], cwd=REPO,
                          env={**os.environ, "PYTHONPATH": REPO, **(env or {})}, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def night(make_video, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    src, outside = root / "src", root / "outside"
    src.mkdir()
    outside.mkdir()
    for name in ("good0", "good1", "crashme", "hangme"):
        make_video(name, frames=5, folder=src, seed=len(name))
    (src / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096))
    os.mkfifo(src / "pipe.mp4")
    os.symlink(src / "loop.mp4", src / "loop.mp4")
    os.symlink(make_video("secret", frames=5, folder=outside), src / "escape.mp4")
    _ffv1(str(src / "huge.mkv"), (2048, 4096), frames=5)
    (src / "notes.txt").write_text("not a video")
    cfg = tiny_config(str(root), execution={"gpu_slots": 2, "decode_timeout_s": 10, "decode_window_mb": 64,
                                            "decode_max_memory_mb": 1024, "probe_timeout_s": 60})
    profile = write_profile(cfg, str(root / "profile.yaml"))
    ingest = _run("jobs.catalog.command", profile, "--source", str(src))
    return root, src, cfg, profile, ingest


def test_ingest_reports_skips_and_refuses_special_files(night, spark) -> None:
    _, src, cfg, _, ingest = night
    assert ingest.returncode == 0, ingest.stderr[-3000:]
    assert f"skipped {src}/notes.txt: extension .txt is not in ingest.extensions" in ingest.stdout
    assert "skipped 1;" in ingest.stdout
    assert "Traceback" not in ingest.stderr
    rows = {os.path.basename(r.uri): r for r in table_refs(cfg.tables).videos.read(spark).collect()}
    assert rows["pipe.mp4"].error_class == "not_a_file" and "FIFO" in rows["pipe.mp4"].error_message
    assert rows["loop.mp4"].error_class == "not_a_file" and "symlink loop" in rows["loop.mp4"].error_message
    assert rows["escape.mp4"].error_class == "forbidden"
    assert rows["broken.mp4"].probe_status == "failed"
    assert rows["huge.mkv"].probe_status == "ok" and rows["huge.mkv"].width == 4096  # admitted at restore
    assert all(rows[n].probe_status == "ok" for n in ("good0.mp4", "good1.mp4", "crashme.mp4", "hangme.mp4"))


def test_restore_finishes_with_every_bad_input_a_failed_row(night, spark) -> None:
    root, src, cfg, profile, _ = night
    tables = table_refs(cfg.tables)
    # A catalog row edited to a traversal URI: its root check happens on the executor, before any open.
    good = tables.videos.read(spark).filter(f"uri = '{src}/good1.mp4'")
    edited = good.selectExpr(*["'traversal-1' AS video_id" if c == "video_id" else
                               f"'{src}/../outside/secret.mp4' AS uri" if c == "uri" else c for c in good.columns])
    tables.videos.append(edited)

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = _run("jobs.restore.command", profile, "--no-mlflow", env={"SEEDVR_DECODE_FAULT": "crash:crashme,hang:hangme"})
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    got = {os.path.basename(r.uri) if r.video_id != "traversal-1" else "traversal": r
           for r in tables.restorations.read(spark).collect()}
    want = {"good0.mp4": "ok", "good1.mp4": "ok", "crashme.mp4": "crash", "hangme.mp4": "timeout",
            "huge.mkv": "too_large", "pipe.mp4": "not_a_file", "loop.mp4": "not_a_file", "escape.mp4": "forbidden",
            "traversal": "forbidden", "broken.mp4": got["broken.mp4"].error_class}
    assert {k: (r.error_class if r.status == "failed" else r.status) for k, r in got.items()} == want
    assert got["broken.mp4"].error_class not in (None, "internal")
    assert "decode budget of 64 MB" in got["huge.mkv"].error_message
    assert "crashed (SIGSEGV)" in got["crashme.mp4"].error_message
    for name in ("good0.mp4", "good1.mp4"):
        assert os.path.getsize(got[name].output_uri) > 0
    assert "2 restored, 8 failed" in proc.stdout
    if peak_mb > before / 1024:  # ru_maxrss is the largest child so far: this run's, when it grew
        assert peak_mb < PEAK_RSS_BOUND_MB, f"job peak RSS {peak_mb:.0f} MB"
    print(json.dumps({"peak_rss_mb": round(peak_mb)}))
    print(proc.stdout)
