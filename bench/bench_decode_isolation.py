"""Cost of decoding segment windows in sandboxed workers, against decoding them in the caller.

The restore stage reads each segment's window (segment + causal context) from the source. Decoding in a
child protects the job from native crashes, hangs and runaway allocations; this measures what it costs:

- in-process: `read_frames` in this process (what the job did before isolation);
- pooled: `read_frames_isolated` through a warm worker of the pool (what the job does);
- fresh: a new worker per window (the pool closed after every call), the cost a pool avoids.

Figures are CPU-seconds of this process plus its workers (wall time on a shared 2-core machine swings),
min/median/max over `--iters` repeats, and the ratios of the medians.

    .venv/bin/python bench/bench_decode_isolation.py          # 1280x720, 8 windows of 25 frames
    .venv/bin/python bench/bench_decode_isolation.py --tiny   # 320x192
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time

from bench_stitch import make_source
from common import bench_parser, emit  # noqa: I001 - also puts the repository on sys.path

from seedvr.video import sandbox
from seedvr.video.decode import DecodeLimits, read_frames, read_frames_isolated
from seedvr.video.probe import probe

SEGMENT, CONTEXT = 21, 4


def worker_cpu_seconds() -> float:
    """CPU time of the live (warm, not yet reaped) pool workers, from /proc."""
    total = 0.0
    for pool in list(sandbox._POOLS.values()):
        for w in list(pool._idle):
            with open(f"/proc/{w.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def cpu_seconds() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime + worker_cpu_seconds()


def windows(n: int) -> list[tuple[int, int]]:
    return [(max(0, s - CONTEXT), min(n, s + SEGMENT)) for s in range(0, n, SEGMENT)]


def run(mode: str, src: str, info, limits: DecodeLimits) -> tuple[float, float]:
    """(wall, CPU) seconds of decoding every window once. `pooled` starts from a warm worker, as the job's
    executors do after their first segment; `fresh` pays a worker start per window."""
    if mode == "pooled":
        read_frames_isolated(src, 0, 1, info, limits)  # warm the worker (untimed)
    t0, c0 = time.perf_counter(), cpu_seconds()
    for a, b in windows(info.num_frames):
        if mode == "in-process":
            read_frames(src, a, b, info, threads=1)
        else:
            read_frames_isolated(src, a, b, info, limits)
            if mode == "fresh":
                sandbox.close_pools()  # reaped: its CPU time moves to RUSAGE_CHILDREN
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    sandbox.close_pools()
    return wall, cpu


def main() -> None:
    p = bench_parser("decode isolation cost")
    args = p.parse_args()
    w, h = (320, 192) if args.tiny else (1280, 720)
    n = SEGMENT * (4 if args.tiny else 8)
    iters = args.iters or 5
    limits = DecodeLimits()
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "src.mp4")
        make_source(src, n, w, h)
        info = probe(src)
        modes = ("in-process", "pooled", "fresh")
        got: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
        for _ in range(iters):  # interleaved, so load on the machine hits every mode alike
            for m in modes:
                got[m].append(run(m, src, info, limits))
    cpu = {m: sorted(c for _, c in got[m]) for m in modes}
    wall = {m: sorted(t for t, _ in got[m]) for m in modes}
    print(f"{len(windows(n))} windows of {SEGMENT + CONTEXT} frames at {w}x{h}, {iters} runs (CPU s min/median/max)")
    for m in modes:
        print(f"  {m:11s} cpu {cpu[m][0]:.3f}/{statistics.median(cpu[m]):.3f}/{cpu[m][-1]:.3f}  "
              f"wall {wall[m][0]:.3f}/{statistics.median(wall[m]):.3f}/{wall[m][-1]:.3f}")
    base = statistics.median(cpu["in-process"])
    ratios = {m: statistics.median(cpu[m]) / base for m in modes[1:]}
    print("  CPU ratio vs in-process: " + ", ".join(f"{m} {r:.3f}x" for m, r in ratios.items()))
    emit(args, {"name": "decode_isolation", "size": f"{w}x{h}", "frames": n,
                **{f"cpu_median_{m}": statistics.median(cpu[m]) for m in modes},
                **{f"ratio_{m}": r for m, r in ratios.items()}})


if __name__ == "__main__":
    main()
