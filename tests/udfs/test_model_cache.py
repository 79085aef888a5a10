"""The per-process model cache: one load per key even when many threads ask at once."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from seedvr.errors import ConfigError
from udfs import model_cache
from udfs.model_cache import ModelSpec, get_restorer, weights_digest


def test_concurrent_threads_load_once(monkeypatch) -> None:
    model_cache.clear()
    model_cache.reset_stats()
    calls = []
    real = model_cache._load

    def slow_load(spec, device):
        calls.append(threading.get_ident())
        threading.Event().wait(0.05)  # widen the race window
        return real(spec, device)

    monkeypatch.setattr(model_cache, "_load", slow_load)
    spec = ModelSpec.make("identity")
    got = []
    threads = [threading.Thread(target=lambda: got.append(get_restorer(spec, "cpu"))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and model_cache.STATS["loads"] == 1
    assert all(g is got[0] for g in got)
    other = get_restorer(ModelSpec.make("identity", options={"x": 1}), "cpu")
    assert other is not got[0] and model_cache.STATS["loads"] == 2


def test_counting_restorer_counts_and_delegates() -> None:
    model_cache.clear()
    model_cache.reset_stats()
    r = get_restorer(ModelSpec.make("identity"), "cpu")
    frames = np.zeros((3, 8, 8, 3), np.uint8)
    assert np.array_equal(r.restore(frames, seed=0), frames)
    assert model_cache.STATS["restore_calls"] == 1 and r.info["preset"] == "identity"


def test_bad_dtype_names_the_choices() -> None:
    with pytest.raises(ConfigError, match="bfloat16"):
        model_cache._torch_dtype("int8")


def test_weights_digest_flattens_component_maps() -> None:
    assert weights_digest({"weights_sha256": {"vae": "b", "dit": "a"}}) == "dit=a,vae=b"
    assert weights_digest({"weights_sha256": None}) is None
