"""NaDiT forward throughput: frames/s, tokens/s, peak memory and MFU against the measured matmul peak.

Default: the 3B DiT (random weights, bf16, CUDA) at 1280x720 (latent 90x160) for 21 and 45 frames.
`--tiny`: the same code path with the tiny config on CPU (fp32) at a small size.

    python bench/bench_dit.py                 # 3B, 720p, 21 and 45 frames
    python bench/bench_dit.py --model 7b      # 7B
    python bench/bench_dit.py --tiny
"""

from __future__ import annotations

import dataclasses

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

from seedvr.models.attention import resolve_backend
from seedvr.models.dit.config import DIT_3B, DIT_7B, DIT_TINY_V1, DIT_TINY_V2, DiTConfig
from seedvr.models.dit.flops import dit_flops
from seedvr.models.dit.nadit import NaDiT

MODELS = {"3b": (DIT_3B, DIT_TINY_V2), "7b": (DIT_7B, DIT_TINY_V1)}


def random_model(cfg: DiTConfig, device: torch.device, dtype: torch.dtype) -> NaDiT:
    """Random weights (see `common.random_weights`), then the RoPE buffers `to_empty` left unset."""

    def fill(name: str, p: torch.nn.Parameter, gen: torch.Generator) -> None:
        if name.endswith("_scale") or "norm" in name:  # ada scales and norm weights sit around 1
            p.fill_(1.0)
        else:
            p.normal_(0.0, 0.02, generator=gen)

    model = random_weights(lambda: NaDiT(cfg), device, dtype, fill)
    model.reset_rope_buffers()
    return model.eval()


def main() -> None:
    p = bench_parser(__doc__.splitlines()[0])
    p.add_argument("--model", choices=sorted(MODELS), default="3b")
    p.add_argument("--frames", type=int, nargs="+", default=None, help="pixel frames (4n+1)")
    p.add_argument("--size", type=int, nargs=2, default=None, metavar=("W", "H"), help="pixel size")
    p.add_argument("--txt-len", type=int, default=58, help="text tokens (58 for the positive prompt)")
    p.add_argument("--backend", choices=["auto", "flash", "sdpa"], default="auto")
    args = p.parse_args()
    device = resolve_device(args)
    dtype = bench_dtype(device)
    full, small = MODELS[args.model]
    cfg = dataclasses.replace(small if args.tiny else full, attention_backend=args.backend)
    frames = args.frames or ([5, 9] if args.tiny else [21, 45])
    width, height = args.size or ((320, 176) if args.tiny else (1280, 720))
    warmup, iters = warmup_and_iters(args, tiny=2, full=3)

    peak = announce_peak(device, f"model={args.model}{' tiny' if args.tiny else ''} layers={cfg.num_layers} "
                                 f"dim={cfg.vid_dim}")
    model = random_model(cfg, device, dtype)
    gen = torch.Generator(device=device).manual_seed(0)
    for n_frames in frames:
        if (n_frames - 1) % 4:
            raise SystemExit(f"--frames must be 4n+1, got {n_frames}")
        t, h, w = (n_frames - 1) // 4 + 1, height // 8, width // 8
        vid = torch.randn(t * h * w, cfg.vid_in_channels, device=device, dtype=dtype, generator=gen)
        txt = torch.randn(args.txt_len, cfg.txt_in_dim, device=device, dtype=dtype, generator=gen)
        vid_shape, txt_shape = torch.tensor([[t, h, w]]), torch.tensor([[args.txt_len]])
        timestep = torch.tensor([1000.0], device=device)
        backend = resolve_backend(cfg.attention_backend, vid)

        def step(vid=vid, txt=txt, vid_shape=vid_shape, txt_shape=txt_shape, timestep=timestep) -> None:
            with torch.inference_mode():
                model(vid, txt, vid_shape, txt_shape, timestep)

        reset_peak_memory(device)
        timing = time_fn(step, device=device, warmup=warmup, iters=iters)
        flops = dit_flops(cfg, [(t, h, w)], [args.txt_len])
        tokens = t * (h // cfg.patch_size[1]) * (w // cfg.patch_size[2])
        sec = timing.median
        emit(args, {
            "bench": "dit_forward", "model": args.model + ("-tiny" if args.tiny else ""), "size": f"{width}x{height}",
            "frames": n_frames, "latent": f"{t}x{h}x{w}", "tokens": tokens, "attention": backend,
            "seconds": sec, "frames_per_s": n_frames / sec, "tokens_per_s": tokens / sec,
            "tflop": flops["total"] / 1e12, "attn_share": flops["attention"] / flops["total"],
            "tflop_per_s": flops["total"] / sec / 1e12, "mfu": mfu(flops["total"], sec, peak),
            "peak_mem_gib": gib(peak_memory_bytes(device)),
        })


if __name__ == "__main__":
    main()
