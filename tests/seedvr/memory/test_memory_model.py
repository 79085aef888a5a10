"""The memory model against measured peaks: live tensor bytes of real DiT forwards and VAE calls on CPU."""

from __future__ import annotations

import pytest
import torch

from seedvr.memory.dit import dit_forward_peak
from seedvr.memory.tracker import LiveBytes, tensor_bytes
from seedvr.memory.vae import vae_peak
from seedvr.models.dit.config import DIT_TINY_V1, DIT_TINY_V2, DiTConfig
from seedvr.models.dit.nadit import NaDiT
from seedvr.models.vae import VAE_SEEDVR, VAE_TINY, VAETiling, VideoVAE, blocks

TOLERANCE = 0.15
# Real head width (128, RoPE over 126 channels) and the 3B's hidden/width ratio, at a small width.
NARROW_3B = DiTConfig(version=2, vid_dim=768, heads=6, head_dim=128, num_layers=2, mm_layers=1, txt_in_dim=96)
DTYPES = {4: torch.float32, 2: torch.bfloat16}


def measure_dit(cfg: DiTConfig, latent: tuple[int, int, int], txt_len: int, dtype: torch.dtype) -> int:
    """Peak live bytes of a warm forward (its window plans cached on the model, counted as a baseline)."""
    torch.manual_seed(0)
    model = NaDiT(cfg).to(dtype).eval()
    vid, txt = torch.randn(latent[0] * latent[1] * latent[2], cfg.vid_in_channels), torch.randn(txt_len, cfg.txt_in_dim)
    args = (vid, txt, torch.tensor([list(latent)]), torch.tensor([[txt_len]]), 500.0)
    with torch.inference_mode():
        model(*args)
        plans = [p for cached in model._plans.values() for p in cached.values()]
        base = sum(tensor_bytes(p.pack_index, p.vid_unpack, p.txt_gather, p.positions, p.layout.cu_seqlens)
                   for p in plans)
        with LiveBytes(base) as live:
            model(*args)
    return live.peak


def measure_vae(model: VideoVAE, op: str, frames: int, h: int, w: int, tiling: VAETiling | None) -> int:
    dtype, cfg = model.encoder.conv_in.weight.dtype, model.cfg
    if op == "encode":
        x = torch.randn(1, 3, frames, h, w, dtype=dtype)
        run = lambda: model.encode_moments(x, tiling=tiling)  # noqa: E731
    else:
        z = torch.randn(1, cfg.latent_channels, (frames - 1) // 4 + 1, h // 8, w // 8, dtype=dtype)
        run = lambda: model.decode(z, tiling=tiling)  # noqa: E731
    with torch.inference_mode(), LiveBytes() as live:
        run()
    return live.peak


def assert_close(predicted: int, measured: int) -> None:
    assert measured > 0
    assert abs(predicted - measured) <= TOLERANCE * measured, (predicted, measured)


@pytest.mark.parametrize("cfg", [DIT_TINY_V2, DIT_TINY_V1, NARROW_3B], ids=["tiny-v2", "tiny-v1", "narrow-3b"])
@pytest.mark.parametrize("latent", [(1, 16, 16), (3, 32, 48), pytest.param((2, 46, 80), marks=pytest.mark.slow)])
@pytest.mark.parametrize("e", [4, 2])
def test_dit_forward_peak_matches_the_measured_one(cfg: DiTConfig, latent: tuple[int, int, int], e: int) -> None:
    """Several token counts (64 to 1840 with the slow case), window counts, both MLP kinds and both dtypes: which moment of
    a block peaks (MLP, attention, RoPE) changes across them, and the model follows it."""
    assert_close(dit_forward_peak(cfg, latent, 58, e).bytes, measure_dit(cfg, latent, 58, DTYPES[e]))


def test_dit_peak_moves_from_mlp_to_rope_with_half_precision() -> None:
    assert dit_forward_peak(DIT_TINY_V2, (3, 32, 48), 58, 4).moment == "mlp"
    assert dit_forward_peak(DIT_TINY_V2, (3, 32, 48), 58, 2).moment.startswith("rope")


@pytest.fixture(scope="module")
def tiny_vae() -> VideoVAE:
    torch.manual_seed(0)
    return VideoVAE(VAE_TINY).eval()


@pytest.mark.parametrize("op", ["encode", "decode"])
@pytest.mark.parametrize("frames,h,w,tiling", [
    (5, 32, 32, None), (9, 64, 64, None), (9, 96, 128, VAETiling(64, 16)),
    pytest.param(13, 48, 96, None, marks=pytest.mark.slow),
    pytest.param(9, 96, 160, VAETiling(64, 16), marks=pytest.mark.slow),
])
@pytest.mark.parametrize("e", [4, 2])
def test_vae_peak_matches_the_measured_one(tiny_vae: VideoVAE, op: str, frames: int, h: int, w: int,
                                           tiling: VAETiling | None, e: int) -> None:
    model = tiny_vae.to(DTYPES[e])
    predicted = vae_peak(VAE_TINY, op, frames, h, w, e, tiling).bytes
    assert_close(predicted, measure_vae(model, op, frames, h, w, tiling))


def test_vae_peak_follows_the_norm_slicing(tiny_vae: VideoVAE, monkeypatch: pytest.MonkeyPatch) -> None:
    """Big inputs run GroupNorm in slices (blocks.NORM_SLICE_BYTES): a low cap exercises that path."""
    monkeypatch.setattr(blocks, "NORM_SLICE_BYTES", 64 * 1024)
    model = tiny_vae.float()
    for op in ("encode", "decode"):
        assert_close(vae_peak(VAE_TINY, op, 9, 64, 64, 4).bytes, measure_vae(model, op, 9, 64, 64, None))


def test_smaller_tiles_predict_less(tiny_vae: VideoVAE) -> None:
    peaks = [vae_peak(VAE_TINY, "decode", 9, 256, 256, 4, t).bytes for t in (None, VAETiling(128, 32), VAETiling(64, 16))]
    assert peaks == sorted(peaks, reverse=True) and peaks[0] > 1.5 * peaks[-1]


@pytest.mark.slow
@pytest.mark.parametrize("op", ["encode", "decode"])
def test_real_width_vae_peak_matches_the_measured_one(op: str) -> None:
    torch.manual_seed(0)
    model = VideoVAE(VAE_SEEDVR).eval()
    assert_close(vae_peak(VAE_SEEDVR, op, 5, 32, 32, 4).bytes, measure_vae(model, op, 5, 32, 32, None))


@pytest.mark.slow
def test_real_width_dit_block_peak_matches_the_measured_one() -> None:
    """One 3B-width block (2560 wide, 20 heads, SwiGLU 6912) at a small token grid."""
    cfg = DiTConfig(version=2, vid_dim=2560, heads=20, head_dim=128, num_layers=1, mm_layers=1, txt_in_dim=256)
    assert_close(dit_forward_peak(cfg, (2, 16, 16), 58, 4).bytes, measure_dit(cfg, (2, 16, 16), 58, torch.float32))
