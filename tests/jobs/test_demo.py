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


def test_demo_console_script_with_a_video_broken_after_a_run(tmp_path) -> None:
    import json
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    work = str(tmp_path / "demo")
    cmd = [sys.executable, "-m", "jobs.demo", "--work-dir", work, "--preset", "identity", "--clips", "2",
           "--frames", "9", "--no-progress", "--no-mlflow"]
    env = {**os.environ, "PYTHONPATH": repo}
    first = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0 and "2 restored, 0 failed" in first.stdout, first.stderr[-2000:]
    with open(os.path.join(work, "catalog", "catalog.json")) as f:
        clip = json.load(f)[0]["path"]  # a catalog clip (the folder also holds ground truths)
    with open(clip, "r+b") as f:  # damaged in place: a new file version that no longer decodes
        f.write(os.urandom(os.path.getsize(clip)))
    second = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "0 restored, 1 failed" in second.stdout and "Traceback" not in second.stderr
    assert "failed" in second.stdout and os.path.basename(clip).rsplit(".", 1)[0] in second.stdout
