"""`seedvr-demo` end to end in a temporary work folder (identity preset to stay fast)."""

from __future__ import annotations

import os

from jobs import demo


def test_demo_builds_ingests_restores_and_reruns_idle(tmp_path, capsys) -> None:
    work = str(tmp_path / "demo")
    argv = ["--work-dir", work, "--preset", "identity", "--clips", "2", "--frames", "9", "--no-progress",
            "--no-mlflow"]
    assert demo.main(argv) == 0
    out = capsys.readouterr().out
    assert "2 restored, 0 failed" in out and "sample-00" in out and work in out
    videos = [f for _, _, fs in os.walk(os.path.join(work, "outputs", "videos")) for f in fs]
    assert len(videos) == 2 and all(v.endswith(".mp4") for v in videos)
    assert demo.main(argv) == 0
    assert "nothing pending: 2 videos already restored" in capsys.readouterr().out
