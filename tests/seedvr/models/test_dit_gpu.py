"""Golden DiT cases on CUDA in bf16 with each attention backend (reports the error; GPU only)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from seedvr.models.attention import flash_available

sys.path.insert(0, str(Path(__file__).resolve().parent))
import golden_dit  # noqa: E402

GOLDEN_DIR = Path(__file__).resolve().parents[3].parent / "shared/reference/golden"
FIXTURES = sorted(p for p in GOLDEN_DIR.glob("dit_*.json")) if GOLDEN_DIR.is_dir() else []


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.skipif(not FIXTURES, reason=f"no DiT golden fixtures in {GOLDEN_DIR}")
@pytest.mark.parametrize("backend", ["flash", "sdpa"])
def test_golden_dit_bf16_on_cuda(backend: str) -> None:
    if backend == "flash" and not flash_available():
        pytest.skip("flash-attn not installed")
    from safetensors.torch import load_file

    for path in FIXTURES:
        fixture = json.loads(path.read_text())
        tensors = load_file(str(path.with_suffix(".safetensors")))
        model = golden_dit.build_model(fixture, tensors, attention_backend=backend).cuda().bfloat16()
        for case in fixture["cases"]:
            c = golden_dit.case_inputs(case, tensors)
            with torch.no_grad():
                out = model(c["vid"].cuda(), c["txt"].cuda(), c["vid_shape"], c["txt_shape"], c["timestep"])
            ref = c["out"]
            rel = float((out.float().cpu() - ref).abs().max() / ref.abs().max())
            print(f"{path.stem}/{case} {backend} bf16: max|out-ref|/max|ref| = {rel:.3e}")
            assert torch.isfinite(out).all() and rel < 0.1
