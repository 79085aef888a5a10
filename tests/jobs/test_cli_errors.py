"""Errors a user meets at the console are one line naming the thing and the fix; exit codes as documented."""

from __future__ import annotations

import os
import subprocess
import sys

import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(*args: str, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": REPO})


def test_profile_that_is_not_yaml(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tables:\n  root: [unclosed\nmodel: {preset: tiny-v2\n")
    for script in ("jobs.restore.command", "jobs.catalog.command"):
        extra = ("--source", str(tmp_path)) if script == "jobs.catalog.command" else ()
        proc = _run(script, "--profile", str(bad), *extra, cwd=str(tmp_path))
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr
        assert f"profile {bad} is not valid YAML at line" in lines[0] and "fix the file" in lines[0]


class _Evil:
    def __reduce__(self):  # what a hostile checkpoint would run if it were unpickled
        return (os.system, ("touch pwned",))


def test_pickled_checkpoint_is_refused_without_torch_advice(tmp_path, make_video) -> None:
    small_video = make_video("pickled-in", frames=5)
    weights = tmp_path / "weights"
    weights.mkdir()
    for name in ("dit.pth", "vae.pth", "pos_emb.pt", "neg_emb.pt"):
        torch.save({"model": _Evil()}, weights / name)
    out = tmp_path / "out.mp4"
    proc = _run("seedvr.cli.restore_clip", small_video, str(out), "--preset", "tiny-v2", "--weights", str(weights),
                cwd=str(tmp_path))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "pickled Python objects" in proc.stderr and "weights_only=False" not in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "pwned").exists() and not out.exists()


def test_object_store_that_is_down_is_one_line(tmp_path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": REPO, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_MAX_ATTEMPTS": "1",
           "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}
    proc = subprocess.run([sys.executable, "-m", "jobs.catalog.command", "--source", "s3://archive/incoming/",
                           "--tables-root", str(tmp_path / "tables"), "--work-dir", str(tmp_path), "--no-mlflow"],
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the object store" in lines[0] and "s3://archive/incoming/" in lines[0]
