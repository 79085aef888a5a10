"""One restorer per (preset, weights, dtype, device, options) per worker process, shared by its threads.

Sail runs every UDF partition as a thread of one process, and Spark classic reuses a Python worker across
tasks; in both cases a module-level cache behind a lock loads the model once. Loads of different keys
proceed in parallel (one lock per key); the global lock only guards the dictionaries.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seedvr.errors import ConfigError

_LOCK = threading.Lock()
_KEY_LOCKS: dict[tuple, threading.Lock] = {}
_CACHE: dict[tuple, Any] = {}
# Process-wide counters (loads, restore calls): the tests read them to prove what was (not) recomputed.
STATS: Counter[str] = Counter()


@dataclass(frozen=True)
class ModelSpec:
    """What identifies a loaded model. `options` are extra keyword arguments for from_preset."""

    preset: str
    weights: str | None = None
    dtype: str | None = None
    attention: str = "auto"
    options: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    @classmethod
    def make(cls, preset: str, weights: str | None = None, dtype: str | None = None,
             attention: str = "auto", options: Mapping[str, Any] | None = None) -> ModelSpec:
        return cls(preset, weights, dtype, attention, tuple(sorted((options or {}).items())))


class CountingRestorer:
    """Delegates to a restorer and counts calls, so resume tests can prove nothing was recomputed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    @property
    def info(self) -> Mapping[str, Any]:
        return self.inner.info

    def restore(self, frames: np.ndarray, *, seed: int, target: Any = None) -> np.ndarray:
        with _LOCK:
            STATS["restore_calls"] += 1
        return self.inner.restore(frames, seed=seed, target=target)


_DTYPES = {"bfloat16": "bfloat16", "bf16": "bfloat16", "float16": "float16", "fp16": "float16",
           "half": "float16", "float32": "float32", "fp32": "float32", "float": "float32"}


def _torch_dtype(name: str | None) -> Any:
    if name is None:
        return None
    import torch

    key = _DTYPES.get(str(name).lower().removeprefix("torch."))
    if key is None:
        raise ConfigError(f"model dtype {name!r} is not one of bfloat16, float16, float32")
    return getattr(torch, key)


def _load(spec: ModelSpec, device: str | None) -> Any:
    from seedvr.restorer.factory import load_restorer

    if spec.preset == "identity":
        return load_restorer("identity")
    kwargs: dict[str, Any] = {"device": device, "dtype": _torch_dtype(spec.dtype), "attention": spec.attention}
    kwargs.update(dict(spec.options))
    return load_restorer(spec.preset, spec.weights, **kwargs)


def weights_digest(info: Mapping[str, Any]) -> str | None:
    """One string for the restorer's weights digests (a per-component map for real models)."""
    sha = info.get("weights_sha256")
    if not sha:
        return None
    if isinstance(sha, Mapping):
        return ",".join(f"{k}={v}" for k, v in sorted(sha.items()) if v) or None
    return str(sha)


def get_restorer(spec: ModelSpec, device: str | None = None) -> CountingRestorer:
    """The cached restorer for `spec` on `device`, loading it at most once per process."""
    key = (spec, device)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            return hit
        key_lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with key_lock:
        with _LOCK:
            hit = _CACHE.get(key)
        if hit is not None:
            return hit
        model = CountingRestorer(_load(spec, device))
        with _LOCK:
            _CACHE[key] = model
            STATS["loads"] += 1
        return model


def clear() -> None:
    """Drop every cached model (tests; freeing GPU memory between jobs in one process)."""
    with _LOCK:
        _CACHE.clear()
        _KEY_LOCKS.clear()


def reset_stats() -> None:
    with _LOCK:
        STATS.clear()
