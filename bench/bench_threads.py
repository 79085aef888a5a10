"""The thread budget (seedvr/threads.py) against torch's default of every core per process.

Two cases, each a whole `seedvr-clip --preset tiny-v2` process per task (what an executor's task does:
model, decode, encode), sides interleaved, `--iters` runs, min/median/max of CPU seconds (the process
tree's, steady on a shared machine) and wall seconds:

1. one task alone: `--threads auto` (the budget: every core, as one task is all there is), `all` (torch's
   default) and `1` (one thread, the naive fix for oversubscription);
2. as many tasks at once as there are cores' halves (2 on 2 cores), as when several restore tasks share
   an executor's cores: the budget (cores / tasks threads each) against `all` in each (oversubscribed).

    .venv/bin/python bench/bench_threads.py
    .venv/bin/python bench/bench_threads.py --tiny     # fewer frames, one run
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
from common import bench_parser, emit  # noqa: I001 - also puts the repository on sys.path

from seedvr.synthetic import write_mp4
from seedvr.threads import available_cores

CLIP = [sys.executable, "-m", "seedvr.cli.restore_clip"]


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_tasks(src: str, out_dir: str, threads: str, tasks: int) -> tuple[float, float]:
    """(wall, CPU) of `tasks` seedvr-clip processes started together with `--threads threads`."""
    t0, c0 = time.perf_counter(), children_cpu()
    procs = [subprocess.Popen([*CLIP, src, os.path.join(out_dir, f"out{i}.mp4"), "--preset", "tiny-v2",
                               "--scale", "2", "--threads", threads, "--quiet", "--no-disclosure"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i in range(tasks)]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise SystemExit(f"seedvr-clip failed ({p.returncode}): {err.strip()[-500:]}")
    return time.perf_counter() - t0, children_cpu() - c0


def spread(xs: list[float]) -> str:
    return f"{min(xs):.2f}/{statistics.median(xs):.2f}/{max(xs):.2f}"


def main() -> None:
    p = bench_parser("thread budget vs torch's default threads, tiny-v2 clips")
    p.add_argument("--frames", type=int, default=None)
    args = p.parse_args()
    frames = args.frames or (9 if args.tiny else 25)
    iters = args.iters or (1 if args.tiny else 3)
    cores = available_cores()
    tasks = max(2, cores // 2) if cores >= 2 else 1
    with tempfile.TemporaryDirectory(prefix="bench-threads-") as tmp:
        src = os.path.join(tmp, "src.mp4")
        rng = np.random.default_rng(0)
        write_mp4(rng.integers(0, 255, (frames, 64, 96, 3), dtype=np.uint8), src, fps=24)
        cases = {("alone", "auto"): ("auto", 1), ("alone", "all"): ("all", 1), ("alone", "1"): ("1", 1),
                 ("together", "budget"): (str(max(1, cores // tasks)), tasks), ("together", "all"): ("all", tasks)}
        run_tasks(src, tmp, "auto", 1)  # warm-up: imports and page cache
        got: dict[tuple[str, str], list[tuple[float, float]]] = {k: [] for k in cases}
        for _ in range(iters):
            for k, (threads, n) in cases.items():
                got[k].append(run_tasks(src, tmp, threads, n))
        for (case, side), xs in got.items():
            threads, n = cases[(case, side)]
            emit(args, {"name": "threads", "case": case, "side": side, "threads_per_task": threads, "tasks": n,
                        "cores": cores, "frames": frames, "cpu_s": spread([c for _, c in xs]),
                        "wall_s": spread([w for w, _ in xs])})

        def ratio(a: tuple[str, str], b: tuple[str, str], i: int) -> float:
            return statistics.median(x[i] for x in got[a]) / statistics.median(x[i] for x in got[b])

        for a, b in ((("alone", "auto"), ("alone", "all")), (("alone", "1"), ("alone", "auto")),
                     (("together", "budget"), ("together", "all"))):
            emit(args, {"name": "threads_ratio", "new": "/".join(a), "old": "/".join(b),
                        "cpu_ratio": round(ratio(a, b, 1), 3), "wall_ratio": round(ratio(a, b, 0), 3)})


if __name__ == "__main__":
    main()
