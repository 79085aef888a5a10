"""Spatial tiling of the VAE: configuration, tile plans, blend weights, and tiled vs untiled output."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from seedvr.errors import ConfigError
from seedvr.models.vae import VAETiling, VideoVAE
from seedvr.models.vae.tiling import MIN_TILE_PX, axis_weights, plan_tiles, tiled_map

# Measured with MINI (conftest.py, seed 0) on the 5x48x96 clip below, tile 64 px / overlap 16 px (two tiles across):
# encode moments PSNR 24.9 dB (max|d| 1.16 over a range of 3.68), decoded frames PSNR 26.3 dB
# (max|d| 3.9 over 6.0). Random weights are the worst case: every GroupNorm takes its statistics over
# the tile instead of the frame, which shifts whole tiles (with the norms made affine-only and the
# attention off, the same tiles differ by 72 dB). The bound keeps a margin of ~5 dB.
MIN_TILED_PSNR_DB = 20.0


def _clip(t: int, h: int, w: int) -> torch.Tensor:
    """Smooth moving pattern plus a little noise, in [-1, 1]."""
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    phase = torch.rand(3, 1, 1, 1, generator=g) * 6.28
    steps = torch.arange(t, dtype=torch.float32)[None, :, None, None]
    x = 0.6 * torch.sin(6 * xx + 4 * yy + 0.3 * steps + phase) + 0.3 * torch.cos(11 * yy - 0.2 * steps + phase)
    return (x + 0.05 * torch.randn(3, t, h, w, generator=g)).clamp(-1, 1)[None]


def _psnr(ours: torch.Tensor, ref: torch.Tensor) -> float:
    peak = (ref.max() - ref.min()).item()
    return 10 * math.log10(peak**2 / ((ours - ref) ** 2).mean().item())


# ----------------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tile_px": 100},
        {"tile_px": 32, "overlap_px": 8},
        {"tile_px": 128, "overlap_px": 72},
        {"tile_px": 128, "overlap_px": -8},
        {"tile_px": 128, "overlap_px": 12},
        {"tile_px": True},
    ],
)
def test_invalid_tiling_is_refused(kwargs: dict) -> None:
    with pytest.raises(ConfigError, match="VAETiling"):
        VAETiling(**kwargs)


def test_smaller_halves_down_to_the_minimum() -> None:
    chain, t = [], VAETiling(512, 64)
    while t is not None:
        chain.append((t.tile_px, t.overlap_px))
        t = t.smaller()
    assert chain == [(512, 64), (256, 64), (128, 32), (64, 16)]
    assert chain[-1][0] == MIN_TILE_PX


# --------------------------------------------------------------------------------- tile plans


@settings(max_examples=200, deadline=None)
@given(length=st.integers(1, 300), tile=st.integers(8, 64), frac=st.floats(0, 0.5))
def test_plan_covers_with_equal_tiles_and_enough_overlap(length: int, tile: int, frac: float) -> None:
    overlap = int(tile * frac)
    tiles = plan_tiles(length, tile, overlap)
    assert tiles[0][0] == 0 and tiles[-1][0] + tiles[-1][1] == length
    assert len({n for _, n in tiles}) == 1 and tiles[0][1] <= tile
    for (s0, n0), (s1, _) in zip(tiles, tiles[1:], strict=False):
        assert s0 < s1 and s0 + n0 - s1 >= overlap


def test_weights_have_no_fade_on_outer_borders() -> None:
    tiles = plan_tiles(40, 16, 4)
    w = axis_weights(tiles, 8, torch.device("cpu"))
    assert w[0][0] == 1 and w[-1][-1] == 1
    assert all(float(v.min()) > 0 for v in w)


@pytest.mark.parametrize("tiling", [VAETiling(64, 16), VAETiling(64, 32), VAETiling(128, 0), VAETiling(72, 8)])
def test_blend_is_a_partition_of_unity(tiling: VAETiling) -> None:
    # With a position-wise map, any correct blend reproduces the untiled result.
    x = torch.randn(1, 2, 3, 13 * 8, 21 * 8)
    enc = lambda v: F.avg_pool3d(v, (1, 8, 8))  # noqa: E731
    torch.testing.assert_close(tiled_map(enc, x, tiling=tiling, unit_in=8, unit_out=1), enc(x))
    z = torch.randn(1, 2, 3, 13, 21)
    dec = lambda v: v.repeat_interleave(8, -1).repeat_interleave(8, -2)  # noqa: E731
    torch.testing.assert_close(tiled_map(dec, z, tiling=tiling, unit_in=1, unit_out=8), dec(z))


# ----------------------------------------------------------------------------------- the model


def test_tile_larger_than_frame_is_exactly_untiled(vae: VideoVAE) -> None:
    x = _clip(5, 48, 64)
    big = VAETiling(64, 16)
    moments = vae.encode_moments(x)
    assert torch.equal(vae.encode_moments(x, tiling=big), moments)
    z = moments[:, :16]
    assert torch.equal(vae.decode(z, tiling=VAETiling(128, 16)), vae.decode(z))


def test_tiled_output_stays_close(vae: VideoVAE) -> None:
    x = _clip(5, 48, 96)
    tiling = VAETiling(64, 16)
    moments = vae.encode_moments(x)
    tiled = vae.encode_moments(x, tiling=tiling)
    assert not torch.equal(tiled, moments)  # two tiles really ran
    assert _psnr(tiled, moments) > MIN_TILED_PSNR_DB
    z = moments[:, :16]
    decoded, decoded_tiled = vae.decode(z), vae.decode(z, tiling=tiling)
    assert decoded_tiled.shape == decoded.shape
    assert _psnr(decoded_tiled, decoded) > MIN_TILED_PSNR_DB


def test_tiles_keep_exact_causal_slicing(vae: VideoVAE) -> None:
    x = _clip(9, 16, 96)
    tiling = VAETiling(64, 16)
    whole = vae.encode_moments(x, sliced=False, tiling=tiling)
    torch.testing.assert_close(vae.encode_moments(x, sliced=True, tiling=tiling), whole, rtol=0, atol=1e-5)
