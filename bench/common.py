"""Shared helpers for the benchmarks in this folder.

Conventions every `bench/bench_*.py` follows:

- `--tiny`: run the same code path on CPU with a tiny config and small sizes, so `make bench` exercises
  every benchmark on a machine without a GPU. Without it, the benchmark targets CUDA (bf16).
- `--device`, `--warmup`, `--iters`, `--json PATH` (append one JSON line per result).
- Throughput is reported together with the matmul peak measured on the same device in the same run
  (bf16 on CUDA, fp32 on CPU), so MFU numbers are comparable across machines.

Typical use::

    parser = bench_parser("DiT forward")
    args = parser.parse_args()
    device = resolve_device(args)
    warmup, iters = warmup_and_iters(args, tiny=2, full=3)
    peak = announce_peak(device, "model=3b")
    reset_peak_memory(device)
    t = time_fn(lambda: model(x), device=device, warmup=warmup, iters=iters)
    emit(args, {"name": "...", "seconds": t.median, "mfu": mfu(flops, t.median, peak), ...})
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import torch
from torch import nn

# Make `import seedvr` work when a benchmark is run as a plain script from a checkout.
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)


# --------------------------------------------------------------------------------------------- CLI


def bench_parser(description: str) -> argparse.ArgumentParser:
    """An argparse parser with the common flags (`--tiny`, `--device`, `--warmup`, `--iters`, `--json`)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--tiny", action="store_true", help="tiny config on CPU: exercises the code path quickly")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, cpu with --tiny)")
    p.add_argument("--warmup", type=int, default=None, help="untimed warm-up iterations")
    p.add_argument("--iters", type=int, default=None, help="timed iterations")
    p.add_argument("--json", default=None, metavar="PATH", help="append one JSON line per result to PATH")
    return p


def resolve_device(args: argparse.Namespace) -> torch.device:
    """`--device` if given; else CPU for `--tiny`; else CUDA (falling back to CPU with a warning)."""
    if getattr(args, "device", None):
        return torch.device(args.device)
    if getattr(args, "tiny", False):
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    print("warning: CUDA not available, running the full-size benchmark on CPU", file=sys.stderr)
    return torch.device("cpu")


def warmup_and_iters(args: argparse.Namespace, *, tiny: int, full: int) -> tuple[int, int]:
    """(warm-up, timed iterations): `--warmup` else 1; `--iters` else `tiny` or `full` by `--tiny`.

    One reading of the two flags, so every benchmark treats an unset or zero `--iters` alike.
    """
    warmup = args.warmup if args.warmup is not None else 1
    return warmup, args.iters or (tiny if args.tiny else full)


def bench_dtype(device: torch.device) -> torch.dtype:
    """bf16 on CUDA, fp32 on CPU."""
    return torch.bfloat16 if torch.device(device).type == "cuda" else torch.float32


def environment() -> dict:
    """Small description of the machine, recorded with every result."""
    env = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "machine": platform.machine(),
    }
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name()
        env["cuda"] = torch.version.cuda
    return env


# -------------------------------------------------------------------------------------------- sync


def synchronize(device: torch.device | str | None = None) -> None:
    """Wait for queued device work (no-op on CPU)."""
    dev = torch.device(device) if device is not None else None
    if (dev is None or dev.type == "cuda") and torch.cuda.is_available():
        torch.cuda.synchronize(dev)


# ------------------------------------------------------------------------------------------ timing


@dataclass
class Timing:
    """Wall-clock seconds of each timed iteration (after warm-up and device synchronisation)."""

    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def time_fn(fn: Callable[[], object], *, device: torch.device | str | None = None, warmup: int = 1,
            iters: int = 3) -> Timing:
    """Run `fn` `warmup` times untimed, then `iters` times timed, synchronising the device around each."""
    if iters < 1:
        raise ValueError(f"iters must be >= 1, got {iters}")
    for _ in range(max(warmup, 0)):
        fn()
    synchronize(device)
    out = Timing()
    for _ in range(iters):
        synchronize(device)
        t0 = time.perf_counter()
        fn()
        synchronize(device)
        out.samples.append(time.perf_counter() - t0)
    return out


# ---------------------------------------------------------------------------------------- memory


def reset_peak_memory(device: torch.device | str) -> None:
    """Reset the CUDA peak-memory counter (CPU peak RSS cannot be reset; it is process-wide)."""
    gc.collect()
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev)


def peak_memory_bytes(device: torch.device | str) -> int:
    """CUDA `max_memory_allocated` since the last reset, or the process's peak RSS on CPU."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return int(torch.cuda.max_memory_allocated(dev))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return int(rss if sys.platform == "darwin" else rss * 1024)


def gib(n_bytes: float) -> float:
    return n_bytes / 2**30


# ------------------------------------------------------------------------------------------- peak


@dataclass
class MatmulPeak:
    flops_per_s: float
    dtype: str
    n: int
    device: str


def measure_matmul_peak(device: torch.device | str, dtype: torch.dtype | None = None, n: int | None = None,
                        iters: int | None = None) -> MatmulPeak:
    """Best-of-N square matmul throughput (2·n³ FLOP per product) on `device`.

    bf16 with n=8192 on CUDA, fp32 with n=1024 on CPU by default. This is the denominator for MFU.
    """
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    dtype = dtype or bench_dtype(dev)
    n = n or (8192 if cuda else 1024)
    iters = iters or (20 if cuda else 3)
    gen = torch.Generator(device=dev).manual_seed(0)
    a = torch.randn(n, n, device=dev, dtype=dtype, generator=gen)
    b = torch.randn(n, n, device=dev, dtype=dtype, generator=gen)
    for _ in range(2 if cuda else 1):
        a @ b
    best = float("inf")
    for _ in range(iters):
        synchronize(dev)
        t0 = time.perf_counter()
        a @ b
        synchronize(dev)
        best = min(best, time.perf_counter() - t0)
    del a, b
    return MatmulPeak(flops_per_s=2.0 * n**3 / best, dtype=str(dtype).replace("torch.", ""), n=n, device=str(dev))


def announce_peak(device: torch.device, label: str) -> MatmulPeak:
    """Measure the matmul peak and print the run's header: device, dtype, peak, then `label`.

    Every throughput benchmark opens with this line, so results from different machines read alike.
    """
    peak = measure_matmul_peak(device)
    print(f"device={device} dtype={bench_dtype(device)} matmul_peak={peak.flops_per_s / 1e12:.2f} TFLOP/s "
          f"({peak.dtype}, n={peak.n}); {label}")
    return peak


def mfu(flops: float, seconds: float, peak: MatmulPeak | float) -> float:
    """Model FLOP utilisation: achieved FLOP/s over the measured matmul peak."""
    p = peak.flops_per_s if isinstance(peak, MatmulPeak) else float(peak)
    return (flops / seconds) / p if seconds > 0 and p > 0 else float("nan")


# ---------------------------------------------------------------------------------------- weights

M = TypeVar("M", bound=nn.Module)


def random_weights(build: Callable[[], M], device: torch.device, dtype: torch.dtype,
                   fill: Callable[[str, nn.Parameter, torch.Generator], None]) -> M:
    """`build()` with random weights and no slow fp32 init pass: made on meta, allocated in `dtype`, then
    each parameter set in place by `fill(name, param, generator)` (seeded, so runs are repeatable)."""
    with torch.device("meta"):
        model = build().to(dtype)
    model = model.to_empty(device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            fill(name, p, gen)
    return model


# ------------------------------------------------------------------------------------------ output


def tree_cpu_seconds() -> float:
    """CPU seconds of this process, its live descendants (the sandbox's warm decoder workers, an inline
    engine's threads are already in ours) and its reaped children: what a job costs the machine."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        # utime, stime, and the reaped children's cutime, cstime (a worker's own helpers)
        times[int(entry)] = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
    me = os.getpid()
    for pid in times:
        p = parents.get(pid)
        while p and p != me:
            p = parents.get(p)
        if p == me:
            total += times[pid]
    return total


def _fmt(v: object) -> str:
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.3e}"
        return f"{v:.4g}"
    return str(v)


def emit(args: argparse.Namespace | None, result: dict) -> None:
    """Print one result as `key=value` pairs and append it as a JSON line to `--json` if given."""
    print("  ".join(f"{k}={_fmt(v)}" for k, v in result.items()), flush=True)
    path = getattr(args, "json", None) if args is not None else None
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({**result, "env": environment()}, default=str) + "\n")
