"""`seedvr-clip` writes signed provenance: embedded in MP4, a sidecar beside MKV, verified by
`seedvr-verify`; a bad key is refused before any work; `--no-disclosure` writes neither."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _run(module: str, *args: str, tmp: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": REPO, "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(tmp / "cache")}
    env.pop("SEEDVR_SIGNING_KEY", None)
    env.pop("SEEDVR_CERTIFICATE_CHAIN", None)
    return subprocess.run([sys.executable, "-m", module, *args], cwd=str(tmp), env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture()
def source(tmp_path: Path) -> str:
    from seedvr.synthetic import make_clip, write_mp4

    src = str(tmp_path / "in.mp4")
    write_mp4(make_clip("procedural:1", 9, (32, 48), seed=1), src)
    return src


def _flip(path: str) -> None:
    data = bytearray(Path(path).read_bytes())
    data[len(data) // 2] ^= 0x01
    Path(path).write_bytes(bytes(data))


def test_mkv_output_gets_a_sidecar_that_verifies_against_the_file(source, tmp_path) -> None:
    out = str(tmp_path / "out.mkv")
    proc = _run("seedvr.cli.restore_clip", source, out, "--preset", "identity", "--json", "--encoder-preset",
                "ultrafast", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)["disclosure"]
    assert d["disclosed"] and d["where"] == "sidecar" and d["sidecar"] == out + ".c2pa" and d["test_certificate"]
    assert Path(out + ".c2pa").is_file() and "TEST certificate" in proc.stderr
    ok = _run("seedvr.cli.verify", out, "--json", tmp=tmp_path)
    assert ok.returncode == 0, ok.stdout
    rep = json.loads(ok.stdout)
    assert rep["where"] == "sidecar" and rep["label"] == d["manifest_label"]
    assert rep["restoration"]["source"]["uri"] == source and rep["restoration"]["preset"] == "identity"
    _flip(out)
    bad = _run("seedvr.cli.verify", out, tmp=tmp_path)
    assert bad.returncode == 1 and "FAILED" in bad.stdout


def test_mp4_output_is_signed_inside_and_no_disclosure_writes_nothing(source, tmp_path) -> None:
    out = str(tmp_path / "out.mp4")
    proc = _run("seedvr.cli.restore_clip", source, out, "--preset", "identity", "--json", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["disclosure"]["where"] == "embedded" and not Path(out + ".c2pa").exists()
    assert _run("seedvr.cli.verify", out, tmp=tmp_path).returncode == 0
    plain = str(tmp_path / "plain.mp4")
    off = _run("seedvr.cli.restore_clip", source, plain, "--preset", "identity", "--json", "--no-disclosure",
               tmp=tmp_path)
    assert off.returncode == 0 and json.loads(off.stdout)["disclosure"] == {"disclosed": False}
    unsigned = _run("seedvr.cli.verify", plain, tmp=tmp_path)
    assert unsigned.returncode == 1 and "UNSIGNED" in unsigned.stdout


def test_a_half_given_or_broken_credential_exits_2_before_any_work(source, tmp_path) -> None:
    out = str(tmp_path / "out.mp4")
    half = _run("seedvr.cli.restore_clip", source, out, "--preset", "identity", "--signing-key", "k.pem",
                tmp=tmp_path)
    assert half.returncode == 2 and "--certificate-chain is missing" in half.stderr
    (tmp_path / "k.pem").write_text("junk")
    broken = _run("seedvr.cli.restore_clip", source, out, "--preset", "identity", "--signing-key", "k.pem",
                  "--certificate-chain", "k.pem", tmp=tmp_path)
    assert broken.returncode == 2 and len(broken.stderr.strip().splitlines()) == 1
    assert "k.pem" in broken.stderr and not Path(out).exists()
