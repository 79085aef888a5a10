"""Retry a VAE call with smaller spatial tiles when the accelerator runs out of memory.

The tiling is planned first, from the memory model (`planned_tiling`, `seedvr.memory.plan`): callers start
with the tiling predicted to fit the free memory, and this retry is only the fallback for what the model
does not see (another process on the GPU, fragmentation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import torch

from seedvr.errors import OutOfMemoryError
from seedvr.models.vae.config import VAEConfig
from seedvr.models.vae.tiling import VAETiling

log = logging.getLogger(__name__)
R = TypeVar("R")


def is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def next_tiling(current: VAETiling | None, frame_hw: tuple[int, int]) -> VAETiling | None:
    """The next smaller tiling to try: untiled -> the largest default tile that actually splits the
    frame -> halves down to the minimum; None when nothing smaller exists."""
    if current is not None:
        return current.smaller()
    tiling: VAETiling | None = VAETiling()
    while tiling is not None and tiling.tile_px >= max(frame_hw):
        tiling = tiling.smaller()
    return tiling


def planned_tiling(vae: VAEConfig, frames: int, frame_hw: tuple[int, int], dtype_bytes: int,
                   free_bytes: int) -> VAETiling | None:
    """The largest tiling (untiled first, then `next_tiling`'s sequence) whose predicted encode and
    decode peaks fit `free_bytes` less the reserve; the smallest tiling when none does."""
    from seedvr.memory.plan import RESERVE_FRACTION
    from seedvr.memory.vae import vae_peak

    usable = free_bytes * (1 - RESERVE_FRACTION)
    tiling: VAETiling | None = None
    while True:
        need = max(vae_peak(vae, op, frames, *frame_hw, dtype_bytes, tiling).bytes for op in ("encode", "decode"))
        smaller = next_tiling(tiling, frame_hw)
        if need <= usable or smaller is None:
            return tiling
        tiling = smaller


def free_accelerator_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def with_tiling_retry(
    fn: Callable[[VAETiling | None], R], tiling: VAETiling | None, frame_hw: tuple[int, int], what: str
) -> tuple[R, VAETiling | None]:
    """Run `fn(tiling)`, shrinking the tiles after each out-of-memory error.

    Returns the result and the tiling that worked, so later clips can start there.
    """
    while True:
        try:
            return fn(tiling), tiling
        except Exception as exc:
            if not is_oom(exc):
                raise
            smaller = next_tiling(tiling, frame_hw)
            free_accelerator_memory()
            if smaller is None:
                raise OutOfMemoryError(
                    f"VAE {what} of {frame_hw[0]}x{frame_hw[1]} frames ran out of memory even with "
                    f"{tiling}; use a smaller target size, shorter segments or a GPU with more memory"
                ) from exc
            log.warning("VAE %s out of memory with %s; retrying with %s", what, tiling, smaller)
            tiling = smaller
