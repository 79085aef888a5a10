"""Causal video VAE throughput: encode and decode frames/s, peak memory and MFU against the matmul peak.

Default: the SeedVR VAE (random weights, bf16, CUDA) at 1280x720, 21 frames, with the official causal
slicing. `--tiny`: the same code path with VAE_TINY on CPU (fp32) at a small size. `--tile PX OVERLAP`
runs the spatially tiled path instead. `--estimate-memory` runs nothing: it replays encode and decode
on fake tensors (CPU, seconds) and reports the peak tensor memory a GPU would need (bf16; allocator
fragmentation and cuDNN workspaces not included).

    python bench/bench_vae.py                       # 720p, 21 frames
    python bench/bench_vae.py --size 1920 1080 --tile 512 64
    python bench/bench_vae.py --tiny
    python bench/bench_vae.py --estimate-memory --size 3840 2160 --tile 1024 128
    python bench/bench_vae.py --tiny --compare-tiling --frames 5 --size 384 256 --tile 256 64

`--compare-tiling` measures tiled against untiled output (max |difference| and PSNR over the untiled
output's range) on a smooth synthetic clip, fp32, default-initialised random weights.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from common import (
    announce_peak,
    bench_dtype,
    bench_parser,
    emit,
    gib,
    mfu,
    peak_memory_bytes,
    random_weights,
    reset_peak_memory,
    resolve_device,
    time_fn,
    warmup_and_iters,
)
from torch import nn

from seedvr.models.vae import VAE_SEEDVR, VAE_TINY, VAEConfig, VAETiling, VideoVAE
from seedvr.models.vae.blocks import FrameAttention


def random_model(cfg: VAEConfig, device: torch.device, dtype: torch.dtype) -> VideoVAE:
    """Random weights (see `common.random_weights`): unit norms, zero biases, fan-in scaled kernels."""

    def fill(name: str, p: nn.Parameter, gen: torch.Generator) -> None:
        if "norm" in name:
            p.fill_(1.0 if name.endswith("weight") else 0.0)
        elif p.ndim == 1:
            p.zero_()
        else:
            fan_in = p[0].numel()
            p.normal_(0.0, fan_in**-0.5, generator=gen)

    return random_weights(lambda: VideoVAE(cfg), device, dtype, fill).eval()


def count_flops(model: nn.Module, run: Callable[[], object]) -> float:
    """FLOPs of one `run()`: convs (2*k*Cin per output element) and per-frame attention (projections + SDPA)."""
    total = 0.0

    def conv_hook(m: nn.Conv3d, _inp: tuple, out: torch.Tensor | tuple) -> None:
        nonlocal total
        out = out[0] if isinstance(out, tuple) else out  # causal convs also return their cache
        k = m.kernel_size[0] * m.kernel_size[1] * m.kernel_size[2]
        total += 2.0 * k * m.in_channels * out.numel()

    def attn_hook(_m: nn.Module, inp: tuple, _out: torch.Tensor) -> None:
        nonlocal total
        b, c, t, h, w = inp[0].shape
        n, length = b * t, h * w
        total += 4 * 2.0 * n * length * c * c + 4.0 * n * length * length * c

    handles = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, nn.Conv3d)]
    handles += [m.register_forward_hook(attn_hook) for m in model.modules() if isinstance(m, FrameAttention)]
    try:
        run()
    finally:
        for h in handles:
            h.remove()
    return total


def estimate_peak_gib(cfg: VAEConfig, op: str, frames: int, height: int, width: int,
                      tiling: VAETiling | None, sliced: bool) -> float:
    """Peak tensor memory of one bf16 encode or decode, replayed on fake tensors (no compute, no GPU)."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.distributed._tools.mem_tracker import MemTracker

    with FakeTensorMode():
        default = torch.get_default_dtype()
        torch.set_default_dtype(torch.bfloat16)
        try:
            model = VideoVAE(cfg).eval()
        finally:
            torch.set_default_dtype(default)
        s, t = cfg.spatial_downsample_factor, cfg.temporal_downsample_factor
        if op == "encode":
            inp = torch.empty(1, cfg.in_channels, frames, height, width, dtype=torch.bfloat16)
        else:
            inp = torch.empty(1, cfg.latent_channels, (frames - 1) // t + 1, height // s, width // s,
                              dtype=torch.bfloat16)
        tracker = MemTracker()
        tracker.track_external(model, inp)
        # Only the global peak is wanted; per-module stats refuse modules called once per chunk.
        tracker._pre_fw_hook = lambda *a, **k: None
        tracker._post_fw_hook = lambda *a, **k: None
        with tracker, torch.inference_mode():
            if op == "encode":
                model.encode_moments(inp, sliced=sliced, tiling=tiling)
            else:
                model.decode(inp, sliced=sliced, tiling=tiling)
        snap = tracker.get_tracker_snapshot("peak")
    return gib(sum(v["Total"] for v in snap.values()))


def smooth_clip(frames: int, height: int, width: int, seed: int = 0) -> torch.Tensor:
    """A moving two-wave pattern with a little noise in [-1, 1]: content with structure at all tiles."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    phase = torch.rand(3, 1, 1, 1, generator=g) * 6.28
    t = torch.arange(frames, dtype=torch.float32)[None, :, None, None]
    x = 0.6 * torch.sin(6 * xx + 4 * yy + 0.3 * t + phase) + 0.3 * torch.cos(11 * yy - 0.2 * t + phase)
    return (x + 0.05 * torch.randn(3, frames, height, width, generator=g)).clamp(-1, 1)[None]


def compare_tiling(args, cfg: VAEConfig, frames: int, height: int, width: int, tiling: VAETiling) -> None:
    """Tiled vs untiled encode (moments) and decode (frames), fp32 on CPU."""
    torch.manual_seed(0)
    model = VideoVAE(cfg).eval()
    x = smooth_clip(frames, height, width)
    moments = model.encode_moments(x)
    z = moments[:, : cfg.latent_channels]
    pairs = {"encode": (model.encode_moments(x, tiling=tiling), moments),
             "decode": (model.decode(z, tiling=tiling), model.decode(z))}
    for op, (tiled, ref) in pairs.items():
        diff = (tiled - ref).abs()
        span = (ref.max() - ref.min()).item()
        psnr = 10 * torch.log10(span**2 / diff.square().mean()).item()
        emit(args, {"bench": f"vae_{op}_tiling_diff", "model": "tiny" if args.tiny else "seedvr",
                    "size": f"{width}x{height}", "frames": frames,
                    "tiling": f"{tiling.tile_px}/{tiling.overlap_px}", "max_abs": diff.max().item(),
                    "range": span, "psnr_db": psnr})


def main() -> None:
    p = bench_parser(__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=None, help="pixel frames (4n+1)")
    p.add_argument("--size", type=int, nargs=2, default=None, metavar=("W", "H"), help="pixel size")
    p.add_argument("--tile", type=int, nargs=2, default=None, metavar=("PX", "OVERLAP"), help="spatial tiling")
    p.add_argument("--no-slicing", action="store_true", help="whole clip at once instead of causal chunks")
    p.add_argument("--estimate-memory", action="store_true", help="peak memory on fake tensors, no compute")
    p.add_argument("--compare-tiling", action="store_true", help="tiled vs untiled difference (needs --tile)")
    args = p.parse_args()
    device = resolve_device(args)
    dtype = bench_dtype(device)
    cfg = VAE_TINY if args.tiny else VAE_SEEDVR
    n_frames = args.frames or (9 if args.tiny else 21)
    width, height = args.size or ((96, 64) if args.tiny else (1280, 720))
    if (n_frames - 1) % 4:
        raise SystemExit(f"--frames must be 4n+1, got {n_frames}")
    tiling = VAETiling(*args.tile) if args.tile else None
    sliced = not args.no_slicing
    warmup, iters = warmup_and_iters(args, tiny=2, full=3)

    if args.compare_tiling:
        if tiling is None:
            raise SystemExit("--compare-tiling needs --tile PX OVERLAP")
        compare_tiling(args, cfg, n_frames, height, width, tiling)
        return
    if args.estimate_memory:
        for op in ("encode", "decode"):
            emit(args, {
                "bench": f"vae_{op}_memory_estimate", "model": "tiny" if args.tiny else "seedvr",
                "size": f"{width}x{height}", "frames": n_frames, "sliced": sliced, "dtype": "bfloat16",
                "tiling": f"{tiling.tile_px}/{tiling.overlap_px}" if tiling else "none",
                "peak_mem_gib": estimate_peak_gib(cfg, op, n_frames, height, width, tiling, sliced),
            })
        return

    peak = announce_peak(device, f"vae={'tiny' if args.tiny else 'seedvr'} channels={cfg.block_out_channels}")
    model = random_model(cfg, device, dtype)
    gen = torch.Generator(device=device).manual_seed(0)
    x = torch.rand(1, 3, n_frames, height, width, device=device, dtype=dtype, generator=gen) * 2 - 1
    with torch.inference_mode():
        z = model.encode(x, sample=False, sliced=sliced)

    runs = {
        "encode": lambda: model.encode_moments(x, sliced=sliced, tiling=tiling),
        "decode": lambda: model.decode(z, sliced=sliced, tiling=tiling),
    }
    for name, fn in runs.items():

        def step(fn=fn) -> None:
            with torch.inference_mode():
                fn()

        flops = count_flops(model, step)
        reset_peak_memory(device)
        timing = time_fn(step, device=device, warmup=warmup, iters=iters)
        sec = timing.median
        emit(args, {
            "bench": f"vae_{name}", "model": "tiny" if args.tiny else "seedvr", "size": f"{width}x{height}",
            "frames": n_frames, "latent": "x".join(str(s) for s in z.shape[2:]), "sliced": sliced,
            "tiling": f"{tiling.tile_px}/{tiling.overlap_px}" if tiling else "none",
            "seconds": sec, "frames_per_s": n_frames / sec, "tflop": flops / 1e12,
            "tflop_per_s": flops / sec / 1e12, "mfu": mfu(flops, sec, peak),
            "peak_mem_gib": gib(peak_memory_bytes(device)),
        })


if __name__ == "__main__":
    main()
