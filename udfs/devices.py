"""Which GPU a task uses, and how many tasks may use it at once.

Spark classic / Databricks hand each task its GPU in `TaskContext.resources()["gpu"]`; the address is a
physical index, which must be mapped through CUDA_VISIBLE_DEVICES when that is set (otherwise a task
lands on a GPU it was not given). Sail has no resource scheduler and runs tasks as threads, so there a
process-wide slot pool spreads tasks over the visible GPUs and a semaphore per device bounds how many
share one.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

_POOL_LOCK = threading.Lock()
_SEMAPHORES: dict[str, threading.BoundedSemaphore] = {}
_IN_USE: dict[str, int] = {}


def cuda_count() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:
        return 0


def task_gpu_address() -> str | None:
    """The GPU address Spark assigned to this task, if any (None on Sail and CPU clusters)."""
    try:
        from pyspark import TaskContext

        tc = TaskContext.get()
        if tc is None:
            return None
        gpus = tc.resources().get("gpu")
        if gpus is not None and gpus.addresses:
            return str(gpus.addresses[0])
    except Exception:
        return None
    return None


def address_to_ordinal(address: str, visible: str | None) -> int:
    """Map a physical GPU address to a CUDA ordinal under CUDA_VISIBLE_DEVICES (`visible`)."""
    if visible:
        ids = [v.strip() for v in visible.split(",") if v.strip()]
        if address in ids:
            return ids.index(address)
        if len(ids) == 1:  # the runtime already narrowed visibility to this task's GPU
            return 0
    return int(address)


def _least_used(candidates: list[str]) -> str:
    return min(candidates, key=lambda d: (_IN_USE.get(d, 0), d))


@contextlib.contextmanager
def device_slot(requested: str | None, tasks_per_gpu: int = 1) -> Iterator[str]:
    """Yield the device string for this task and hold its semaphore while the task computes.

    `requested` ("cpu", "cuda", "cuda:1" or None = auto) wins when it names a device; CPU needs no slot.
    """
    if requested == "cpu" or (requested is None and cuda_count() == 0):
        yield "cpu"
        return
    if requested and requested.startswith("cuda:"):
        device = requested
    else:
        addr = task_gpu_address()
        if addr is not None:
            device = f"cuda:{address_to_ordinal(addr, os.environ.get('CUDA_VISIBLE_DEVICES'))}"
        else:
            with _POOL_LOCK:
                device = _least_used([f"cuda:{i}" for i in range(max(cuda_count(), 1))])
    with _POOL_LOCK:
        sem = _SEMAPHORES.setdefault(device, threading.BoundedSemaphore(tasks_per_gpu))
        _IN_USE[device] = _IN_USE.get(device, 0) + 1
    try:
        with sem:
            yield device
    finally:
        with _POOL_LOCK:
            _IN_USE[device] -= 1


def device_type(device: str) -> str:
    """What a result row records as the hardware: the GPU model for CUDA devices, else "cpu"."""
    if not device.startswith("cuda"):
        return "cpu"
    try:
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    except Exception:
        return device
