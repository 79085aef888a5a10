import pytest
import torch

from seedvr.errors import OutOfMemoryError
from seedvr.models.vae.tiling import VAETiling
from seedvr.restorer.oom import next_tiling, with_tiling_retry


def test_first_retry_tile_actually_splits_the_frame():
    assert next_tiling(None, (720, 1280)) == VAETiling()
    first = next_tiling(None, (300, 200))
    assert first is not None and first.tile_px < 300
    assert next_tiling(VAETiling(512, 64), (720, 1280)).tile_px == 256


def test_retries_with_smaller_tiles_until_it_fits():
    tried = []

    def encode(tiling):
        tried.append(tiling)
        if tiling is None or tiling.tile_px > 128:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return "latent"

    result, used = with_tiling_retry(encode, None, (720, 1280), "encode")
    assert result == "latent" and used.tile_px == 128
    assert [t.tile_px if t else None for t in tried] == [None, 512, 256, 128]


def test_gives_up_at_the_smallest_tile():
    def always_oom(tiling):
        raise torch.OutOfMemoryError("out of memory")

    with pytest.raises(OutOfMemoryError, match="smaller target") as info:
        with_tiling_retry(always_oom, VAETiling(128, 32), (720, 1280), "decode")
    assert info.value.error_class == "oom"


def test_other_errors_are_not_retried():
    calls = []

    def broken(tiling):
        calls.append(tiling)
        raise ValueError("bad shape")

    with pytest.raises(ValueError):
        with_tiling_retry(broken, None, (720, 1280), "encode")
    assert calls == [None]
