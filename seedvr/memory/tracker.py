"""Peak live tensor bytes of a computation, counted op by op: the figure the CUDA caching allocator's
`max_memory_allocated` reports, measured on any device (the memory model is validated with it on CPU).

Every tensor an aten op returns is seen by a `TorchDispatchMode`; its storage is counted once (views and
in-place results share it) and uncounted when the storage is freed (a weakref finalizer). What the
allocator sees beyond this is left out: a kernel's internal scratch (cuDNN/cuBLAS workspaces on CUDA,
im2col buffers on CPU) and the rounding of each block to 512 bytes, both small against activations.
Tensors that exist before the mode starts (weights, inputs) are not counted: add them with `baseline`.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


class LiveBytes(TorchDispatchMode):
    """`with LiveBytes() as m: fn()`; then `m.peak` (bytes) and `m.live` (still held after the block)."""

    def __init__(self, baseline: int = 0) -> None:
        super().__init__()
        self.live = self.peak = baseline
        self._sizes: dict[int, int] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        # An output that shares an input's storage (a view, an in-place op, a no-op `.to`) allocates nothing.
        inputs = {t.untyped_storage()._cdata for t in tree_flatten((args, kwargs))[0]
                  if isinstance(t, torch.Tensor) and t.device.type != "meta"}
        out = func(*args, **kwargs)
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                storage = t.untyped_storage()
                if storage._cdata not in inputs:
                    self._track(storage)
        return out

    def _track(self, storage: torch.UntypedStorage) -> None:
        key = storage._cdata
        if key in self._sizes:
            return
        n = storage.nbytes()
        self._sizes[key] = n
        self.live += n
        self.peak = max(self.peak, self.live)
        weakref.finalize(storage, self._free, key)

    def _free(self, key: int) -> None:
        self.live -= self._sizes.pop(key, 0)


def tensor_bytes(*tensors: torch.Tensor | None) -> int:
    """Bytes of the distinct storages behind `tensors` (a baseline: weights, inputs)."""
    seen: dict[int, int] = {}
    for t in tensors:
        if t is not None:
            st = t.untyped_storage()
            seen[st._cdata] = st.nbytes()
    return sum(seen.values())


def allocator_peak(fn: Any) -> int:
    """Peak bytes the CPU allocator held above its level at the start of `fn()`, kernels' own scratch
    included: the profiler's allocation events carry the allocator's running total. A cross-check of
    `LiveBytes` (which sees op outputs only); CPU kernels' scratch differs from CUDA's, so it is not the
    figure the model is validated against."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events: list[tuple[int, int, int]] = []

    def walk(nodes: Any) -> None:
        for node in nodes:
            if node.tag == torch._C._profiler._EventType.Allocation:
                f = node.extra_fields
                events.append((node.start_time_ns, f.alloc_size, f.total_allocated))
            walk(node.children)

    walk(prof.profiler.kineto_results.experimental_event_tree())
    if not events:
        return 0
    events.sort()
    start = events[0][2] - events[0][1]
    return max(total for _, _, total in events) - start
