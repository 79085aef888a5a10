"""`bench/gpu_check.py --tiny --device cpu`: every section runs (or says why not) and lands in the JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SECTIONS = {"device", "gemm", "golden", "dit_forward", "vae", "restore", "compile"}


def test_tiny_cpu_run_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "check.json"
    proc = subprocess.run([sys.executable, str(REPO / "bench/gpu_check.py"), "--tiny", "--device", "cpu",
                           "--json", str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    sections = doc["sections"]
    assert set(sections) == SECTIONS and doc["tiny"] is True and doc["device"] == "cpu"
    assert {s["status"] for s in sections.values()} <= {"ok", "skipped"}
    assert sections["compile"] == {**sections["compile"], "status": "skipped", "reason": "auto: eager on cpu"}
    for name in ("gemm", "dit_forward", "vae", "restore"):
        assert sections[name]["status"] == "ok", name
    assert set(sections["dit_forward"]["cases"]) == {"5", "9"}
    assert all(r["frames_per_s"] > 0 and r["tokens_per_s"] > 0 for r in sections["dit_forward"]["cases"].values())
    assert set(sections["vae"]["cases"]) == {"encode_untiled", "decode_untiled", "encode_tiled", "decode_tiled"}
    if sections["golden"]["status"] == "ok":  # the fixtures live beside the checkout, not in it
        assert sections["golden"]["fp32_pass"] and "bf16-sdpa" in sections["golden"]["modes"]


def test_a_failing_section_is_recorded_and_the_rest_still_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    from gpu_check import Check

    check = Check(str(tmp_path / "c.json"), budget_s=60)

    def boom() -> dict:
        raise RuntimeError("CUDA out of memory. Tried to allocate 80 GiB")

    check.run("a", boom)
    check.run("b", lambda: {"value": 1})
    check.budget_s = 0
    check.run("c", lambda: {"value": 2})
    doc = json.loads((tmp_path / "c.json").read_text())["sections"]
    assert doc["a"]["status"] == "oom" and "80 GiB" in doc["a"]["error"]
    assert doc["b"]["status"] == "ok" and doc["b"]["value"] == 1
    assert doc["c"]["status"] == "skipped" and "budget" in doc["c"]["reason"]
