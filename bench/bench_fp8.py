"""fp8 DiT weights: error against fp32 at the released widths, and the weight memory of each format.

A full 3B / 7B does not fit a small CPU box in fp32, so the error is measured on DiTs with the released
width and 2 blocks (3B: one separate and one shared vid-only block; 7B: two separate blocks), random
default-init weights, quantised the ways the files in the wild are:

- `fp8-cast`: every tensor cast to float8_e4m3fn (the community SeedVR2 fp8 files);
- `fp8-tensor` / `fp8-channel`: scaled fp8, one scale per tensor / per output channel.

Each is loaded through the project's loader (bf16 compute, fp8 kept in the Linears: `fp8="on_the_fly"`),
next to plain bf16, and compared with fp32 on one 720p-like window. Memory is counted for the full models
(built on the meta device): fp32, bf16 (norms / modulation / timestep embedding kept fp32) and fp8.

    python bench/bench_fp8.py
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

_REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_REPO))

from common import emit  # noqa: E402

from seedvr.checkpoints.build import build_dit, random_init  # noqa: E402
from seedvr.checkpoints.loading import _load_into  # noqa: E402
from seedvr.checkpoints.presets import get_preset  # noqa: E402
from seedvr.checkpoints.quantized import float8_state  # noqa: E402
from seedvr.models.dit.config import DIT_3B, DIT_7B, DiTConfig  # noqa: E402
from seedvr.models.precision import float32_keys  # noqa: E402

MODELS = {"3b": (DIT_3B, "seedvr2-3b", {"num_layers": 2, "mm_layers": 1}),
          "7b": (DIT_7B, "seedvr2-7b", {"num_layers": 2})}
VARIANTS = {"bf16": None, "fp8-cast": "none", "fp8-tensor": "tensor", "fp8-channel": "channel"}


def weight_bytes(cfg: DiTConfig) -> dict[str, int]:
    """Bytes of parameters + persistent buffers of the full model in each format (meta build: free)."""
    model = build_dit(cfg)
    keep = float32_keys(model)
    state = model.state_dict()
    fp8_linear = {k for k, v in state.items() if v.ndim == 2 and k not in keep}
    out = {"fp32": sum(v.numel() * 4 for v in state.values())}
    out["bf16"] = sum(v.numel() * (4 if k in keep else 2) for k, v in state.items())
    out["fp8"] = sum(v.numel() * (1 if k in fp8_linear else 4 if k in keep else 2) for k, v in state.items())
    return out


def inputs(cfg: DiTConfig, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """One 720p-sized window of latent tokens (5 x 30 x 54 latent, 2x2 patches) and 58 text tokens."""
    g = torch.Generator().manual_seed(seed)
    t, h, w = 5, 30, 54
    return (torch.randn(t * h * w, cfg.vid_in_channels, generator=g), torch.randn(58, cfg.txt_in_dim, generator=g),
            torch.tensor([[t, h, w]]), torch.tensor([[58]]), torch.tensor([1000.0]))


def errors(out: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
    d = out.float() - ref
    return {"max_rel": float(d.abs().max() / ref.abs().max()),
            "rms_rel": float(d.pow(2).mean().sqrt() / ref.pow(2).mean().sqrt())}


def run(name: str) -> None:
    full, preset_name, overrides = MODELS[name]
    cfg = dataclasses.replace(full, **overrides)
    preset = get_preset(preset_name)
    fp32 = random_init(lambda: build_dit(cfg, device="cpu"), seed=0).eval().requires_grad_(False)
    fp32.reset_rope_buffers()
    args = inputs(cfg)
    with torch.no_grad():
        ref = fp32(*args)
    state = fp32.state_dict()
    for variant, scaling in VARIANTS.items():
        file_state = state if scaling is None else float8_state(state, scaling)
        model = _load_into(build_dit(cfg), dict(file_state), device=torch.device("cpu"), dtype=torch.bfloat16,
                           what="DiT", source=f"{name}-{variant}", preset=preset, fp8="on_the_fly")
        with torch.no_grad():
            e = errors(model(*args), ref)
        held = sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))
        print(f"{name} x{cfg.num_layers} blocks  {variant:<11} max-rel {e['max_rel']:.2e}  rms-rel {e['rms_rel']:.2e}"
              f"  weights {held / 2**20:8.1f} MiB")
        emit_args.append({"name": "fp8_error", "model": name, "blocks": cfg.num_layers, "variant": variant,
                          "weight_bytes": held, **e})
        del model
    sizes = weight_bytes(full)
    print(f"{name} full model weights: " + ", ".join(f"{k} {v / 2**30:.2f} GiB ({v:,} B)" for k, v in sizes.items()))
    emit_args.append({"name": "weight_bytes", "model": name, **sizes})


emit_args: list[dict] = []


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=[*MODELS, "all"], default="all")
    p.add_argument("--json", default=None, metavar="PATH", help="append one JSON line per result to PATH")
    args = p.parse_args()
    torch.manual_seed(0)
    for name in MODELS if args.model == "all" else [args.model]:
        run(name)
    if args.json:
        for result in emit_args:
            emit(args, result)


if __name__ == "__main__":
    main()
