"""The restorer's `compile` option: resolved before the load, applied lazily, recorded in `info`."""

from __future__ import annotations

import pytest
import torch

from seedvr.errors import ConfigError
from seedvr.models.compile import is_compiled, unavailable_reason
from seedvr.restorer import ClipRestorer, load_restorer


def test_auto_is_eager_on_cpu_and_recorded() -> None:
    r = load_restorer("tiny-v2", device="cpu")
    assert r.info["compile"] is False and not is_compiled(r.models.dit)
    assert load_restorer("identity").info["compile"] is False


def test_unknown_mode_fails_before_the_load() -> None:
    with pytest.raises(ConfigError, match="compile 'fast'"):
        ClipRestorer.from_preset("tiny-v2", device="cpu", compile="fast")


@pytest.mark.skipif(unavailable_reason(torch.device("cpu")) is not None, reason="inductor cannot build here")
def test_on_compiles_the_blocks_without_running_them() -> None:
    r = ClipRestorer.from_preset("tiny-v2", device="cpu", compile="on")  # graphs come with the first clip
    assert r.info["compile"] is True
    assert is_compiled(r.models.dit) and is_compiled(r.models.vae)
    assert not is_compiled(r.models.dit.vid_in)  # regional: the blocks, not the whole model
