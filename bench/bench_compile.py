"""Speed-up of the regional torch.compile (seedvr.models.compile): eager vs compiled, min/median/max of runs.

Cases: `tiny`, the whole tiny 3B-style DiT (its blocks compiled); `block`, one 3B block at the real width
(2560, 20 heads of 128; SwiGLU 6912) on a small token grid, so the CPU measures the real layer shapes.
Compilation time is the first compiled call; it is not in the timed runs.

    python bench/bench_compile.py                  # both cases on CPU, fp32
    python bench/bench_compile.py --device cuda    # bf16 on CUDA
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable

import torch
from common import bench_dtype, bench_parser, emit, synchronize

from seedvr.models.compile import compile_dit
from seedvr.models.dit.block import MMBlock
from seedvr.models.dit.config import DIT_3B, DIT_TINY_V2
from seedvr.models.dit.modulation import split_emb
from seedvr.models.dit.nadit import NaDiT
from seedvr.models.packing import build_window_plan


def _runs(fn: Callable[[], object], device: torch.device, iters: int) -> list[float]:
    out = []
    for _ in range(iters):
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        out.append(time.perf_counter() - t0)
    return out


def tiny_case(device: torch.device, dtype: torch.dtype) -> tuple[torch.nn.Module, Callable]:
    """The tiny DiT on latent 3 x 16 x 24 (288 video tokens) with 58 text tokens."""
    torch.manual_seed(0)
    model = NaDiT(DIT_TINY_V2).to(device, dtype).eval()
    cfg, (t, h, w), n_txt = DIT_TINY_V2, (3, 16, 24), 58
    args = (torch.randn(t * h * w, cfg.vid_in_channels, device=device, dtype=dtype),
            torch.randn(n_txt, cfg.txt_in_dim, device=device, dtype=dtype),
            torch.tensor([[t, h, w]]), torch.tensor([[n_txt]]), torch.full((1,), 1000.0, device=device))
    return model, lambda m: m(*args)


def block_case(device: torch.device, dtype: torch.dtype) -> tuple[torch.nn.Module, Callable]:
    """Block 0 of the 3B (separate video/text weights) on a 2 x 8 x 12 token grid with 58 text tokens."""
    torch.manual_seed(0)
    cfg, grid, n_txt = DIT_3B, (2, 8, 12), 58
    block = MMBlock(cfg, 0).to(device, dtype).eval()
    block.attn.rope.reset()
    n_vid = grid[0] * grid[1] * grid[2]
    plan = build_window_plan([grid], [n_txt], cfg.num_windows, shifted=False, time_cap=cfg.window_time_cap,
                             rope=cfg.rope_kind, device=device)
    vid = torch.randn(n_vid, cfg.vid_dim, device=device, dtype=dtype)
    txt = torch.randn(n_txt, cfg.vid_dim, device=device, dtype=dtype)
    emb = split_emb(torch.randn(1, cfg.emb_dim, device=device, dtype=dtype) * 0.1)
    return block, lambda m: m(vid, txt, emb, plan, ([n_vid], [n_txt]), "sdpa")


CASES = {"tiny": tiny_case, "block": block_case}


def _stats(samples: list[float]) -> dict[str, float]:
    return {"min_s": min(samples), "median_s": statistics.median(samples), "max_s": max(samples)}


def measure(name: str, device: torch.device, dtype: torch.dtype, iters: int, warmup: int) -> dict:
    """Compile time, eager and compiled run times of one case."""
    torch._dynamo.reset()
    eager, call = CASES[name](device, dtype)
    compiled = copy.deepcopy(eager)
    compile_dit(compiled)  # the model's blocks, or the block itself
    with torch.inference_mode():
        compile_s = _runs(lambda: call(compiled), device, 1)[0]
        for _ in range(warmup):
            call(eager), call(compiled)
        # Interleaved, so a noisy neighbour on a shared machine slows both alike.
        e, c = [], []
        for _ in range(iters):
            e += _runs(lambda: call(eager), device, 1)
            c += _runs(lambda: call(compiled), device, 1)
    se, sc = _stats(e), _stats(c)
    return {"bench": "compile", "case": name, "device": str(device), "dtype": str(dtype).split(".")[-1],
            "runs": iters, "compile_s": compile_s,
            **{f"eager_{k}": v for k, v in se.items()}, **{f"compiled_{k}": v for k, v in sc.items()},
            "speedup_median": se["median_s"] / sc["median_s"], "speedup_min": se["min_s"] / sc["min_s"]}


def main() -> None:
    p = bench_parser(__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(CASES))
    args = p.parse_args()
    device = torch.device(args.device or "cpu")
    dtype = bench_dtype(device)
    iters = args.iters or 7
    warmup = 1 if args.warmup is None else args.warmup
    print(f"device={device} dtype={dtype} threads={torch.get_num_threads()} runs={iters}")
    for name in args.cases:
        emit(args, measure(name, device, dtype, iters, warmup))


if __name__ == "__main__":
    main()
