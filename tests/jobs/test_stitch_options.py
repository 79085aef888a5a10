"""The costs around the model a user can choose: the segment files' codec and the scores. Both
through `seedvr-restore` in a subprocess on real Sail and Delta, with a failed video in the catalog."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import pytest

from jobs.tables import table_refs
from seedvr.errors import ConfigError
from seedvr.video.intermediate import codec_for_root
from tests.jobs.helpers import make_catalog, tiny_config, write_profile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(module: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": REPO}, timeout=600)


def test_auto_codec_is_uncompressed_on_local_disk_and_ut_video_on_stores(tmp_path) -> None:
    assert codec_for_root(str(tmp_path)) == "rawvideo"
    assert codec_for_root(f"file://{tmp_path}") == "rawvideo"
    assert codec_for_root("s3://bucket/outputs/segments") == "utvideo"
    assert codec_for_root("/dbfs/mnt/archive/segments") == "utvideo"
    assert codec_for_root("/Volumes/main/archive/scratch") == "utvideo"
    assert codec_for_root(str(tmp_path), "ffv1") == "ffv1"
    with pytest.raises(ConfigError, match="intermediate codec"):
        codec_for_root(str(tmp_path), "h264")


def _codec_of(path: str) -> str:
    with av.open(path) as c:
        return c.streams.video[0].codec_context.name


@pytest.mark.parametrize(("codec", "scores", "expected"), [("auto", True, "rawvideo"), (None, False, "utvideo")])
def test_codec_and_video_scores_through_the_console_script(spark, make_video, tmp_path: Path, codec: str,
                                                            scores: bool, expected: str) -> None:
    make_catalog(make_video, str(tmp_path / "src"), n=2, frames=9, corrupt=1)
    cfg = tiny_config(str(tmp_path / "run"))
    profile = write_profile(cfg, str(tmp_path / "profile.yaml"))
    ing = _run("jobs.catalog.command", "--profile", profile, "--source", str(tmp_path / "src"), "--no-mlflow")
    assert ing.returncode == 0, ing.stderr[-2000:]
    chosen = ["--set", f"storage.intermediate_codec={codec}"] if codec else []  # None: the default
    flag = str(scores).lower()
    run = _run("jobs.restore.command", "--profile", profile, "--no-mlflow", "--keep-intermediates", *chosen,
               "--set", f"execution.video_scores={flag}", "--set", f"execution.segment_scores={flag}")
    assert run.returncode == 0, run.stderr[-2000:]
    assert "2 restored, 1 failed" in run.stdout
    t = table_refs(cfg.tables)
    segs = [r for r in t.segments.read(spark).collect() if r.status == "ok"]
    assert segs and {_codec_of(r.intermediate_uri) for r in segs} == {expected}
    assert all(bool(r.scores) == scores for r in segs)
    ok = [r for r in t.restorations.read(spark).collect() if r.status == "ok"]
    assert len(ok) == 2
    if scores:
        assert all("sharpness_mean" in (r.scores or {}) for r in ok)
    else:
        assert all(not r.scores for r in ok)
        assert all(r.output_sha256 and os.path.exists(r.output_uri) for r in ok)
