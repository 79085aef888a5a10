"""No host synchronisation in a sampling step or a colour fix: work is queued, never waited for.

On CPU the colour fix is checked to build no tensor from Python once its kernel is cached; on CUDA,
`torch.cuda.set_sync_debug_mode("error")` turns any synchronisation into an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import torch

from seedvr.restorer.colorfix import color_fix, wavelet_color_fix


def _img(seed: int, device: str = "cpu") -> torch.Tensor:
    return (torch.rand(3, 3, 40, 56, generator=torch.Generator().manual_seed(seed)) * 2 - 1).to(device)


def test_colour_fix_builds_no_tensor_from_python(monkeypatch) -> None:
    sample, ref = _img(0), _img(1)
    expected = wavelet_color_fix(sample, ref)  # builds and caches the blur kernel

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.tensor called inside the colour fix")

    monkeypatch.setattr(torch, "tensor", refuse)
    torch.testing.assert_close(wavelet_color_fix(sample, ref), expected, rtol=0, atol=0)
    color_fix(sample, ref, "adain")


@contextmanager
def _no_sync() -> Iterator[None]:
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        yield
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_colour_fix_never_synchronises() -> None:
    sample, ref = _img(0, "cuda"), _img(1, "cuda")
    wavelet_color_fix(sample, ref)  # the one copy: the kernel, cached per device and dtype
    with _no_sync():
        wavelet_color_fix(sample, ref)
        color_fix(sample, ref, "adain")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_sampling_step_never_synchronises() -> None:
    from seedvr.restorer import ClipRestorer

    r = ClipRestorer.from_preset("tiny-v2", device="cuda", compile="off")
    dit = r.models.dit
    txt = r.models.pos_emb
    c = dit.cfg.vid_in_channels - dit.cfg.vid_out_channels
    with torch.inference_mode():
        # Warm-up at another size: library handles and workspaces are created once per process.
        r._velocity_fn(torch.randn(2, 4, 6, c, device="cuda"))(torch.randn(2, 4, 6, 16, device="cuda"), 1000.0)
        cond = torch.randn(3, 6, 8, c, device="cuda")
        x = torch.randn(3, 6, 8, 16, device="cuda")
        velocity = r._velocity_fn(cond)
        with _no_sync():  # a new size: the window plan is built inside this forward
            velocity(x, 1000.0)
            dit(torch.randn(2 * 4 * 4, dit.cfg.vid_in_channels, device="cuda", dtype=r.dtype), txt,
                torch.tensor([[2, 4, 4]]), torch.tensor([[txt.shape[0]]]), torch.full((1,), 500.0, device="cuda"))
