"""One command that checks a GPU: golden parity, DiT and VAE throughput, one restore, compile speed-up.

    pip install -e ".[gpu]"                 # flash-attn optional
    python bench/gpu_check.py               # CUDA, about 5 minutes on one H100/H200
    python bench/gpu_check.py --tiny        # the same sections at tiny scale on the CPU (also: --device cpu)

Sections, in order (each records its own failure, an out-of-memory included, and the run goes on; past
`--budget-s` the remaining ones are skipped):

- `device`, `gemm`: the device and a bf16 GEMM rate measured here, beside the datasheet peak (dense bf16);
- `golden`: the reference's golden cases in fp32, bf16 with SDPA and bf16 with flash-attn (when it imports);
- `dit_forward`: the 3B DiT (random weights at the real widths) at 720p x 21 and 45 frames;
- `vae`: encode and decode at 720p x 21 frames, untiled and tiled;
- `restore`: one `ClipRestorer.restore` of a 720p 21-frame clip with random 3B weights (eager);
- `compile`: the 21-frame DiT forward with compiled blocks: compile time and speed-up over eager.

Throughput comes with frames/s, tokens/s, peak memory (`torch.cuda.max_memory_allocated`) and MFU against
the measured GEMM rate and the datasheet. Everything lands in one JSON (`--json`, default gpu_check.json),
rewritten after every section so a killed run keeps what it measured.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from bench_dit import random_model
from common import (
    bench_parser,
    environment,
    gib,
    measure_matmul_peak,
    peak_memory_bytes,
    random_weights,
    reset_peak_memory,
    time_fn,
)

from seedvr.models.attention import flash_available, resolve_backend
from seedvr.models.compile import compile_dit, resolve_compile
from seedvr.models.dit.config import DIT_3B, DIT_TINY_V2
from seedvr.models.dit.flops import dit_flops
from seedvr.models.vae import VAEConfig, VideoVAE
from seedvr.models.vae.config import VAE_SEEDVR
from seedvr.models.vae.tiling import VAETiling

REPO = Path(__file__).resolve().parents[1]
GOLDEN_DIR = Path(os.environ.get("SEEDVR_GOLDEN_DIR") or REPO.parent / "shared/reference/golden")
GOLDEN_TOLERANCE = 1e-4  # fp32, as tests/seedvr/models/test_golden.py
# Dense bf16 tensor-core peaks of the datasheets, TFLOP/s; the first name found in the device's wins.
DATASHEET_BF16_TFLOPS = {"H100 PCIe": 756.0, "H100 NVL": 835.0, "H100": 989.0, "H200": 989.0}
TXT_LEN = 58  # the positive prompt's tokens

FULL = {"dit": DIT_3B, "vae": VAE_SEEDVR, "size": (1280, 720), "frames": (21, 45), "vae_frames": 21,
        "tile": VAETiling(512, 64), "restore_frames": 21, "iters": 3}
TINY = {"dit": DIT_TINY_V2, "vae": VAEConfig(block_out_channels=(8, 16, 16, 16), norm_num_groups=4),
        "size": (96, 64), "frames": (5, 9), "vae_frames": 5, "tile": VAETiling(64, 16), "restore_frames": 5,
        "iters": 2}


class Check:
    """The sections' results, the time budget and the JSON they are written to."""

    def __init__(self, path: str, budget_s: float) -> None:
        self.path, self.budget_s, self.t0 = path, budget_s, time.perf_counter()
        self.doc: dict[str, Any] = {"env": environment(), "budget_s": budget_s, "sections": {}}

    def left(self) -> float:
        return self.budget_s - (time.perf_counter() - self.t0)

    def run(self, name: str, fn: Callable[[], dict[str, Any]]) -> None:
        """Run one section; its failure (out of memory too) is recorded, never raised."""
        t = time.perf_counter()
        if self.left() <= 0:
            result: dict[str, Any] = {"status": "skipped", "reason": f"time budget of {self.budget_s:.0f} s spent"}
        else:
            try:
                result = {"status": "ok", **fn()}  # a section may return its own "skipped"
            except Exception as exc:  # noqa: BLE001 - one section's failure must not end the check
                oom = isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()
                result = {"status": "oom" if oom else "failed", "error": f"{type(exc).__name__}: {exc}"[:2000],
                          "traceback": traceback.format_exc(limit=6)[-3000:]}
        result["seconds"] = round(time.perf_counter() - t, 3)
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.doc["sections"][name] = result
        self.doc["wall_s"] = round(time.perf_counter() - self.t0, 3)
        Path(self.path).write_text(json.dumps(self.doc, indent=2, default=str))
        detail = result.get("error") or result.get("reason") or ""
        print(f"== {name}: {result['status']} ({result['seconds']:.1f} s) {detail}".rstrip(), flush=True)


# ------------------------------------------------------------------------------------------ sections


def datasheet_tflops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in DATASHEET_BF16_TFLOPS.items() if k in name), None)


def section_device(device: torch.device) -> dict[str, Any]:
    out: dict[str, Any] = {"device": str(device), "flash_attn": flash_available(),
                           "datasheet_bf16_tflops": datasheet_tflops(device)}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        out.update(name=props.name, memory_gib=gib(props.total_memory), capability=f"{props.major}.{props.minor}")
    return out


def section_gemm(device: torch.device) -> dict[str, Any]:
    peak = measure_matmul_peak(device, torch.bfloat16 if device.type == "cuda" else torch.float32)
    out = {"tflops": peak.flops_per_s / 1e12, "dtype": peak.dtype, "n": peak.n,
           "datasheet_tflops": datasheet_tflops(device)}
    print(f"   GEMM {peak.dtype} n={peak.n}: {out['tflops']:.3g} TFLOP/s (datasheet {out['datasheet_tflops']})")
    return out


def _golden_modes(device: torch.device) -> list[tuple[str, torch.dtype, str]]:
    modes = [("fp32", torch.float32, "sdpa"), ("bf16-sdpa", torch.bfloat16, "sdpa")]
    if device.type == "cuda" and flash_available():
        modes.append(("bf16-flash", torch.bfloat16, "flash"))
    return modes


def section_golden(device: torch.device, golden_dir: Path) -> dict[str, Any]:
    """max|ours - ref| / max|ref| of every golden case per mode; fp32 must pass the test's tolerance."""
    if not golden_dir.is_dir():
        return {"status": "skipped", "reason": f"no golden fixtures at {golden_dir} (--golden-dir, SEEDVR_GOLDEN_DIR)"}
    from safetensors.torch import load_file

    sys.path.insert(0, str(REPO / "tests/seedvr/models"))
    import golden_dit
    import golden_vae

    cases: dict[str, dict[str, float]] = {}
    modes = _golden_modes(device)
    for path in sorted(golden_dir.glob("*.json")):
        fixture, tensors = json.loads(path.read_text()), load_file(str(path.with_suffix(".safetensors")))
        for mode, dtype, backend in modes:
            if golden_dit.matches(fixture):
                model = golden_dit.build_model(fixture, tensors, attention_backend=backend).to(device, dtype)
                for case in fixture["cases"]:
                    c = golden_dit.case_inputs(case, tensors)
                    with torch.inference_mode():
                        out = model(c["vid"].to(device), c["txt"].to(device), c["vid_shape"], c["txt_shape"],
                                    c["timestep"])
                    cases.setdefault(f"{path.stem}/{case}", {})[mode] = _rel(out, c["out"])
            # The VAE has no attention backend; bf16 3D convolutions on a CPU take minutes, not seconds.
            elif golden_vae.matches(fixture) and backend == "sdpa" and (device.type == "cuda" or mode == "fp32"):
                model = golden_vae.build_model(fixture, tensors).to(device, dtype)
                for case in fixture["cases"]:
                    c = {k.rsplit(".", 1)[1]: v for k, v in tensors.items() if k.startswith(f"case.{case}.")}
                    with torch.inference_mode():
                        moments = model.encode_moments(c["x"].to(device, dtype))
                        decoded = model.decode(c["z"].to(device, dtype))
                    row = cases.setdefault(f"{path.stem}/{case}", {})
                    row[mode] = max(_rel(moments, c["moments"]), _rel(decoded, c["decoded"]))
    for name, row in cases.items():
        print(f"   {name:<28} " + "  ".join(f"{m} {e:.2e}" for m, e in row.items()))
    worst_fp32 = max((row["fp32"] for row in cases.values() if "fp32" in row), default=float("nan"))
    return {"modes": [m for m, _, _ in modes], "flash_ran": any(m == "bf16-flash" for m, _, _ in modes),
            "cases": cases, "worst_fp32": worst_fp32, "fp32_pass": worst_fp32 < GOLDEN_TOLERANCE}


def _rel(out: torch.Tensor, ref: torch.Tensor) -> float:
    ref = ref.float()
    return float((out.float().cpu() - ref).abs().max() / ref.abs().max().clamp_min(1e-30))


def _dit_inputs(cfg: Any, n_frames: int, size: tuple[int, int], device: torch.device, dtype: torch.dtype
                ) -> tuple[tuple, tuple[int, int, int]]:
    width, height = size
    t, h, w = (n_frames - 1) // 4 + 1, height // 8, width // 8
    gen = torch.Generator(device=device).manual_seed(0)
    args = (torch.randn(t * h * w, cfg.vid_in_channels, device=device, dtype=dtype, generator=gen),
            torch.randn(TXT_LEN, cfg.txt_in_dim, device=device, dtype=dtype, generator=gen),
            torch.tensor([[t, h, w]]), torch.tensor([[TXT_LEN]]), torch.full((1,), 1000.0, device=device))
    return args, (t, h, w)


def _throughput(cfg: Any, latent: tuple[int, int, int], n_frames: int, seconds: float, gemm_tflops: float | None,
                datasheet: float | None) -> dict[str, Any]:
    flops = dit_flops(cfg, [latent], [TXT_LEN])["total"]
    t, h, w = latent
    tokens = t * (h // cfg.patch_size[1]) * (w // cfg.patch_size[2])
    achieved = flops / seconds / 1e12
    return {"frames": n_frames, "latent": list(latent), "tokens": tokens, "median_s": seconds,
            "frames_per_s": n_frames / seconds, "tokens_per_s": tokens / seconds, "tflop": flops / 1e12,
            "tflops": achieved, "mfu_measured": achieved / gemm_tflops if gemm_tflops else None,
            "mfu_datasheet": achieved / datasheet if datasheet else None}


def section_dit(check: Check, device: torch.device, p: dict[str, Any], gemm: float | None) -> dict[str, Any]:
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    model = random_model(p["dit"], device, dtype)
    out: dict[str, Any] = {"dtype": str(dtype).split(".")[-1], "cases": {}}
    for n_frames in p["frames"]:
        if check.left() <= 0:
            out["cases"][str(n_frames)] = {"status": "skipped", "reason": "time budget"}
            continue
        args, latent = _dit_inputs(p["dit"], n_frames, p["size"], device, dtype)
        out["attention"] = resolve_backend(p["dit"].attention_backend, args[0])
        reset_peak_memory(device)
        with torch.inference_mode():
            timing = time_fn(lambda a=args: model(*a), device=device, warmup=1, iters=p["iters"])
        row = _throughput(p["dit"], latent, n_frames, timing.median, gemm, datasheet_tflops(device))
        row["peak_mem_gib"] = gib(peak_memory_bytes(device))
        out["cases"][str(n_frames)] = row
        print(f"   {n_frames} frames: {row['median_s']:.3f} s, {row['frames_per_s']:.1f} frames/s, "
              f"{row['tokens_per_s']:.0f} tokens/s, MFU {row['mfu_measured'] or float('nan'):.2f} (measured), "
              f"peak {row['peak_mem_gib']:.1f} GiB, {out['attention']}")
    return out


def _vae_fill(name: str, param: torch.nn.Parameter, gen: torch.Generator) -> None:
    if "norm" in name and name.endswith("weight"):
        param.fill_(1.0)
    elif name.endswith("bias"):
        param.zero_()
    else:
        param.normal_(0.0, 0.02, generator=gen)


def section_vae(check: Check, device: torch.device, p: dict[str, Any]) -> dict[str, Any]:
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    vae = random_weights(lambda: VideoVAE(p["vae"]), device, dtype, _vae_fill).eval()
    width, height = p["size"]
    n = p["vae_frames"]
    x = torch.rand(1, 3, n, height, width, device=device, dtype=dtype) * 2 - 1
    cases: dict[str, Any] = {}
    z = None
    for tiling in (None, p["tile"]):
        for op in ("encode", "decode"):
            key = f"{op}_{'tiled' if tiling else 'untiled'}"
            if check.left() <= 0:
                cases[key] = {"status": "skipped", "reason": "time budget"}
                continue
            reset_peak_memory(device)
            with torch.inference_mode():
                if op == "encode":
                    def fn(t=tiling):  # noqa: ANN202
                        return vae.encode(x, sample=False, tiling=t)
                    z = fn()
                else:
                    def fn(t=tiling, z=z):  # noqa: ANN202
                        return vae.decode(z, tiling=t)
                timing = time_fn(fn, device=device, warmup=0, iters=max(p["iters"] - 1, 1))
            cases[key] = {"median_s": timing.median, "frames_per_s": n / timing.median,
                          "peak_mem_gib": gib(peak_memory_bytes(device)),
                          "tile": [tiling.tile_px, tiling.overlap_px] if tiling else None}
            print(f"   {key}: {timing.median:.3f} s, {n / timing.median:.1f} frames/s, "
                  f"peak {cases[key]['peak_mem_gib']:.1f} GiB")
    return {"dtype": str(dtype).split(".")[-1], "frames": n, "size": [width, height], "cases": cases}


def _random_restorer(device: torch.device, p: dict[str, Any], tiny: bool) -> Any:
    """The 3B restorer with random weights made on the device (no 13 GB fp32 init on the host)."""
    from seedvr.checkpoints.loading import LoadedModels
    from seedvr.checkpoints.presets import PRESETS
    from seedvr.restorer.clip import ClipRestorer

    if tiny:
        return ClipRestorer.from_preset("tiny-v2", device=device, compile="off")
    dtype = torch.bfloat16
    dit = random_model(p["dit"], device, dtype)
    vae = random_weights(lambda: VideoVAE(p["vae"]), device, dtype, _vae_fill).eval()
    gen = torch.Generator(device=device).manual_seed(1)
    pos, neg = (torch.randn(n, p["dit"].txt_in_dim, device=device, dtype=dtype, generator=gen) for n in (58, 64))
    tag = dict.fromkeys(("dit", "vae", "pos_emb", "neg_emb"), "random")
    models = LoadedModels(dit, vae, pos, neg, sources=tag, sha256=tag)
    return ClipRestorer(PRESETS["seedvr2-3b"], models, device=device, dtype=dtype, compile=False)


def section_restore(device: torch.device, p: dict[str, Any], tiny: bool) -> dict[str, Any]:
    import numpy as np

    restorer = _random_restorer(device, p, tiny)
    width, height = p["size"]
    n = p["restore_frames"]
    frames = np.random.default_rng(0).integers(0, 256, (n, height, width, 3), dtype=np.uint8)
    reset_peak_memory(device)
    t = time.perf_counter()
    out = restorer.restore(frames, seed=1)
    seconds = time.perf_counter() - t
    assert out.shape == frames.shape, (out.shape, frames.shape)
    row = {"frames": n, "size": [width, height], "seconds": seconds, "frames_per_s": n / seconds,
           "peak_mem_gib": gib(peak_memory_bytes(device)), "attention": restorer.attention,
           "vae_tiling": restorer.info["vae_tiling"]}
    print(f"   {n} frames {width}x{height}: {seconds:.2f} s, {n / seconds:.2f} frames/s, "
          f"peak {row['peak_mem_gib']:.1f} GiB")
    return row


def section_compile(device: torch.device, p: dict[str, Any], mode: str, eager: dict[str, Any] | None,
                    gemm: float | None) -> dict[str, Any]:
    choice = resolve_compile(mode, device)
    if not choice.enabled:
        return {"status": "skipped", "reason": choice.reason}
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    torch._dynamo.reset()
    model = random_model(p["dit"], device, dtype)
    compile_dit(model)
    n_frames = p["frames"][0]
    args, latent = _dit_inputs(p["dit"], n_frames, p["size"], device, dtype)
    with torch.inference_mode():
        first = time_fn(lambda: model(*args), device=device, warmup=0, iters=1).median
        reset_peak_memory(device)
        timing = time_fn(lambda: model(*args), device=device, warmup=1, iters=p["iters"])
    row = _throughput(p["dit"], latent, n_frames, timing.median, gemm, datasheet_tflops(device))
    row.update(first_call_s=first, peak_mem_gib=gib(peak_memory_bytes(device)))
    eager_s = ((eager or {}).get("cases", {}).get(str(n_frames)) or {}).get("median_s")
    row["speedup_vs_eager"] = eager_s / timing.median if eager_s else None
    print(f"   compiled {n_frames} frames: first call {first:.1f} s, then {timing.median:.3f} s "
          f"(x{row['speedup_vs_eager'] or float('nan'):.2f} vs eager)")
    return row


# ------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    p = bench_parser(__doc__.splitlines()[0])
    p.set_defaults(json="gpu_check.json")
    p.add_argument("--budget-s", type=float, default=None, help="stop starting sections after this many "
                   "seconds (default: 420, 120 with --tiny)")
    p.add_argument("--golden-dir", type=Path, default=GOLDEN_DIR, help=f"golden fixtures (default: {GOLDEN_DIR})")
    p.add_argument("--compile", choices=("auto", "on", "off"), default="auto",
                   help="the compile section: auto runs it on CUDA only")
    args = p.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() and not args.tiny else "cpu"))
    tiny = args.tiny or device.type == "cpu"
    params = TINY if tiny else FULL
    check = Check(args.json, args.budget_s or (120.0 if tiny else 420.0))
    check.doc.update(tiny=tiny, device=str(device))
    print(f"gpu_check: device={device} tiny={tiny} budget={check.budget_s:.0f} s json={args.json}")

    sections = check.doc["sections"]
    check.run("device", lambda: section_device(device))
    check.run("gemm", lambda: section_gemm(device))
    gemm = sections["gemm"].get("tflops")
    check.run("golden", lambda: section_golden(device, args.golden_dir))
    check.run("dit_forward", lambda: section_dit(check, device, params, gemm))
    check.run("vae", lambda: section_vae(check, device, params))
    check.run("restore", lambda: section_restore(device, params, tiny))
    check.run("compile", lambda: section_compile(device, params, args.compile, sections.get("dit_forward"), gemm))
    failed = [n for n, r in sections.items() if r["status"] in ("failed", "oom")]
    print(f"gpu_check: {len(sections) - len(failed)}/{len(sections)} sections without failure; "
          f"wrote {args.json}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
