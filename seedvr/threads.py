"""One place that decides how many threads each part of a process may use.

torch's intra-op pool, the x264/x265 encoder, the decoders and OpenCV's pool (the quality scores' filters
and optical flow) each default to "all cores", and several of them run at once: restore tasks side by
side on one executor, the encoder while the next segment is restored. Oversubscribed, they spend their
time switching (measured: a tiny-model clip on 2 cores ran 1.97x faster with torch on one thread). The
budget splits the cores of the process between the tasks that run concurrently, so that tasks x threads
never exceeds the cores; any part can be pinned.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

# Overrides for a whole machine (e.g. an executor image), read when the budget is planned.
TORCH_THREADS_ENV = "SEEDVR_TORCH_THREADS"
ENCODE_THREADS_ENV = "SEEDVR_ENCODE_THREADS"
OPENCV_THREADS_ENV = "SEEDVR_OPENCV_THREADS"


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, which containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - macOS
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ThreadBudget:
    cores: int  # of this process
    tasks: int  # running concurrently in it, sharing the cores
    torch: int  # intra-op threads of each task's model
    encode: int  # threads of each encoder
    decode: int  # threads of each decoder (sandboxed workers decode one window at a time)
    # OpenCV's pool, one per process (the scores' filters and optical flow): one thread unless pinned.
    # Its workers spin between calls: on 2 cores, 2 threads took 0.72 vs 0.32 CPU-ms for a 48x32 flow
    # pair and 17.6 vs 11.7 for 1280x720 (identical values); a 720p job's stitch stage at 2x used 58.0
    # vs 53.3 CPU-s with 2 and 1 threads, for 10 % less wall time. Tasks side by side are the parallelism.
    opencv: int = 1

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def plan_threads(tasks: int = 1, *, cores: int | None = None, torch: int | None = None,
                 encode: int | None = None, decode: int | None = None,
                 opencv: int | None = None) -> ThreadBudget:
    """The budget for `tasks` concurrent tasks on `cores` (default: this process's); explicit values
    (or SEEDVR_TORCH_THREADS / SEEDVR_ENCODE_THREADS / SEEDVR_OPENCV_THREADS) win."""
    n = cores or available_cores()
    per_task = max(1, n // max(1, tasks))
    return ThreadBudget(
        cores=n, tasks=max(1, tasks),
        torch=torch or _env_int(TORCH_THREADS_ENV) or per_task,
        encode=encode or _env_int(ENCODE_THREADS_ENV) or per_task,
        decode=decode or 1,
        opencv=opencv or _env_int(OPENCV_THREADS_ENV) or 1,
    )


_applied: int | None = None


def apply_torch_threads(threads: int) -> None:
    """Set torch's intra-op pool (per process; the inter-op pool once, before any parallel work)."""
    global _applied
    import torch

    if _applied != threads:
        torch.set_num_threads(threads)
        _applied = threads


def apply_opencv_threads(threads: int) -> None:
    """Set OpenCV's pool (process-wide, like torch's): the budget's `opencv` for the tasks sharing it."""
    import cv2

    if cv2.getNumThreads() != threads:
        cv2.setNumThreads(threads)
