"""bf16 DiT error against the fp32 golden outputs of the reference, per golden case.

Two ways to put the model in bf16:

- `all-bf16`: every tensor of the state dict cast to bf16 (what a plain cast of every parameter gives);
- `project`: `model.bfloat16()`, which keeps norms, AdaSingle modulation and the timestep embedding in fp32
  (`seedvr.models.precision`), as the reference's autocast keeps its modulation.

    python bench/bench_bf16.py                  # CPU (bf16 kernels), every golden DiT case
    python bench/bench_bf16.py --device cuda    # the same on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

_REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(_REPO), str(_REPO / "tests/seedvr/models")]

import golden_dit  # noqa: E402
from common import emit  # noqa: E402

GOLDEN_DIR = Path(os.environ.get("SEEDVR_GOLDEN_DIR") or _REPO.parent / "shared/reference/golden")


def all_bf16(fixture: dict, tensors: dict[str, torch.Tensor]) -> torch.nn.Module:
    """Assign a fully bf16 state dict (assign=True takes the stored dtype), RoPE recomputed."""
    model = golden_dit.build_model(fixture, tensors)
    state = {k: v.bfloat16() for k, v in model.state_dict().items()}
    model.load_state_dict(state, assign=True)
    model.reset_rope_buffers()
    return model


def errors(out: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
    d = out.float().cpu() - ref
    return {"max_rel": float(d.abs().max() / ref.abs().max()),
            "rms_rel": float(d.pow(2).mean().sqrt() / ref.pow(2).mean().sqrt())}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default=None, metavar="PATH", help="append one JSON line per result to PATH")
    args = p.parse_args()
    from safetensors.torch import load_file

    device = torch.device(args.device)
    print(f"{'case':<24} {'variant':<9} {'max-rel':>9} {'rms-rel':>9}")
    for path in sorted(GOLDEN_DIR.glob("dit_*.json")):
        fixture = json.loads(path.read_text())
        tensors = load_file(str(path.with_suffix(".safetensors")))
        models = {"all-bf16": all_bf16(fixture, tensors).to(device),
                  "project": golden_dit.build_model(fixture, tensors).bfloat16().to(device)}
        for case in fixture["cases"]:
            c = golden_dit.case_inputs(case, tensors)
            for variant, model in models.items():
                with torch.no_grad():
                    out = model(c["vid"].to(device), c["txt"].to(device), c["vid_shape"], c["txt_shape"],
                                c["timestep"])
                e = errors(out, c["out"])
                print(f"{path.stem + '/' + case:<24} {variant:<9} {e['max_rel']:9.2e} {e['rms_rel']:9.2e}")
                if args.json:
                    emit(args, {"name": "bf16_error", "case": f"{path.stem}/{case}", "variant": variant,
                                "device": str(device), **e})


if __name__ == "__main__":
    main()
