"""Memory model against measured peaks: predicted vs measured bytes of DiT forwards and VAE calls on CPU.

"Measured" is the peak of live tensor bytes (`seedvr.memory.tracker.LiveBytes`: every op's new storages,
counted until freed), the figure `torch.cuda.max_memory_allocated` reports for the same ops; "allocator" is
the CPU allocator's own peak from the profiler (kernel scratch included: CPU conv im2col buffers, which
CUDA kernels do not have), shown as a cross-check. Then the plan for the released presets at common sizes.

    python bench/bench_memory_model.py            # tiny and narrow configs, one real-width block and VAE
    python bench/bench_memory_model.py --quick    # skip the real-width cases
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import torch
from common import gib  # noqa: F401  (also puts the checkout on sys.path)

from seedvr.checkpoints.presets import PRESETS
from seedvr.memory.dit import dit_forward_peak
from seedvr.memory.plan import gib as gib_text
from seedvr.memory.plan import plan_segment, segment_memory
from seedvr.memory.tracker import LiveBytes, allocator_peak, tensor_bytes
from seedvr.memory.vae import vae_peak
from seedvr.models.dit.config import DIT_TINY_V1, DIT_TINY_V2, DiTConfig
from seedvr.models.dit.nadit import NaDiT
from seedvr.models.vae import VAE_SEEDVR, VAE_TINY, VAETiling, VideoVAE

NARROW_3B = DiTConfig(version=2, vid_dim=768, heads=6, head_dim=128, num_layers=2, mm_layers=1, txt_in_dim=96)
NARROW_7B = DiTConfig(version=1, vid_dim=768, heads=6, head_dim=128, num_layers=2, txt_in_dim=96)
BLOCK_3B = DiTConfig(version=2, vid_dim=2560, heads=20, head_dim=128, num_layers=1, mm_layers=1, txt_in_dim=256)
DTYPES = {4: torch.float32, 2: torch.bfloat16}
TXT = 58


def measured(run: Callable[[], object], base: int = 0) -> tuple[int, int]:
    with torch.inference_mode():
        with LiveBytes(base) as live:
            run()
        return live.peak, base + allocator_peak(run)


def dit_case(cfg: DiTConfig, latent: tuple[int, int, int], e: int) -> tuple[int, int, int, str]:
    torch.manual_seed(0)
    model = NaDiT(cfg).to(DTYPES[e]).eval()
    n = latent[0] * latent[1] * latent[2]
    args = (torch.randn(n, cfg.vid_in_channels), torch.randn(TXT, cfg.txt_in_dim), torch.tensor([list(latent)]),
            torch.tensor([[TXT]]), 500.0)
    with torch.inference_mode():
        model(*args)  # builds and caches the window plans
    plans = [p for cached in model._plans.values() for p in cached.values()]
    base = sum(tensor_bytes(p.pack_index, p.vid_unpack, p.txt_gather, p.positions, p.layout.cu_seqlens) for p in plans)
    live, alloc = measured(lambda: model(*args), base)
    pred = dit_forward_peak(cfg, latent, TXT, e)
    return pred.bytes, live, alloc, pred.moment


def vae_case(model: VideoVAE, op: str, frames: int, h: int, w: int, e: int, tiling: VAETiling | None
             ) -> tuple[int, int, int, str]:
    model = model.to(DTYPES[e])
    cfg = model.cfg
    if op == "encode":
        x = torch.randn(1, 3, frames, h, w, dtype=DTYPES[e])
        run = lambda: model.encode_moments(x, tiling=tiling)  # noqa: E731
    else:
        z = torch.randn(1, cfg.latent_channels, (frames - 1) // 4 + 1, h // 8, w // 8, dtype=DTYPES[e])
        run = lambda: model.decode(z, tiling=tiling)  # noqa: E731
    live, alloc = measured(run)
    return vae_peak(cfg, op, frames, h, w, e, tiling).bytes, live, alloc, f"{vae_peak(cfg, op, frames, h, w, e, tiling).tiles} tile(s)"


def row(name: str, case: str, e: int, result: tuple[int, int, int, str]) -> float:
    pred, live, alloc, note = result
    err = 100 * (pred - live) / live
    print(f"| {name} | {case} | {'fp32' if e == 4 else 'bf16'} | {pred:,} | {live:,} | {err:+.1f}% | "
          f"{alloc:,} | {note} |", flush=True)
    return abs(err)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="skip the real-width cases")
    args = p.parse_args()
    torch.manual_seed(0)
    print("| model | case | dtype | predicted B | measured B | error | allocator B | note |")
    print("|---|---|---|---|---|---|---|---|")
    errors = []
    for name, cfg in (("dit tiny-v2", DIT_TINY_V2), ("dit tiny-v1", DIT_TINY_V1), ("dit narrow 3B (768)", NARROW_3B),
                      ("dit narrow 7B (768)", NARROW_7B)):
        for latent in ((1, 16, 16), (3, 32, 48), (5, 48, 80)):
            for e in (4, 2):
                tokens = latent[0] * latent[1] * latent[2] // 4
                errors.append(row(name, f"latent {latent}, {tokens} tokens", e, dit_case(cfg, latent, e)))
    tiny = VideoVAE(VAE_TINY).eval()
    for op in ("encode", "decode"):
        for frames, h, w, tiling in ((5, 32, 32, None), (9, 64, 64, None), (13, 64, 96, None),
                                     (9, 128, 128, VAETiling(64, 16)), (9, 96, 160, VAETiling(64, 16))):
            for e in (4, 2):
                case = f"{op} {frames}x{w}x{h}" + (f" tile {tiling.tile_px}/{tiling.overlap_px}" if tiling else "")
                errors.append(row("vae tiny", case, e, vae_case(tiny, op, frames, h, w, e, tiling)))
    if not args.quick:
        real = VideoVAE(VAE_SEEDVR).eval()
        for op in ("encode", "decode"):
            for frames, h, w in ((5, 32, 32), (9, 64, 64)):
                errors.append(row("vae real width", f"{op} {frames}x{w}x{h}", 4, vae_case(real, op, frames, h, w, 4, None)))
        for latent in ((2, 16, 16), (3, 32, 32)):
            errors.append(row("dit 3B block (2560)", f"latent {latent}", 4, dit_case(BLOCK_3B, latent, 4)))
    print(f"\nlargest |error| {max(errors):.2f}% over {len(errors)} cases\n")

    print("| preset | size | frames | tiling | predicted peak | phase | 24 GB plan | 80 GB plan |")
    print("|---|---|---|---|---|---|---|---|")
    for name in ("seedvr2-3b", "seedvr2-7b"):
        pr = PRESETS[name]
        for w, h in ((1280, 720), (1920, 1080), (3840, 2160)):
            m = segment_memory(pr.dit, pr.vae, 45, h, w, tiling=VAETiling())
            plans = [plan_segment(pr.dit, pr.vae, h, w, gb * 10**9, max_frames=45) for gb in (24, 80)]
            cells = [f"{pl.segment_frames} f, {pl.tiling.tile_px if pl.tiling else 'untiled'}"
                     + ("" if pl.fits else " (no fit)") for pl in plans]
            print(f"| {name} | {w}x{h} | 45 | 512/64 | {gib_text(m.peak)} | {m.peak_phase} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
