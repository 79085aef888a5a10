"""Causal video VAE: checkpoint layout, frame rule, causality, chunked = whole, posterior sampling."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from einops import rearrange
from hypothesis import given, settings
from hypothesis import strategies as st

from seedvr.errors import ConfigError, InputError
from seedvr.models.vae import VAE_SEEDVR, VAE_TINY, VAEConfig, VideoVAE, remap_legacy_vae_keys
from seedvr.models.vae.blocks import Upsample3D
from seedvr.models.vae.causal_conv import CausalConv3d
from tests.seedvr.models.conftest import MINI

CHECKPOINT_KEYS = Path("/work/shared/reference/checkpoint_keys.json")


def _video(t: int, h: int = 32, w: int = 48, b: int = 1, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, t, h, w, generator=g) * 2 - 1


# ------------------------------------------------------------------------------- checkpoint layout


def test_seedvr_state_dict_matches_released_checkpoint() -> None:
    if not CHECKPOINT_KEYS.exists():
        pytest.skip("reference checkpoint key list not available")
    ref = json.loads(CHECKPOINT_KEYS.read_text())["vae"]
    with torch.device("meta"):
        model = VideoVAE(VAE_SEEDVR)
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert len(ours) == ref["tensors"] == 250
    missing, unexpected = sorted(set(ref["keys"]) - set(ours)), sorted(set(ours) - set(ref["keys"]))
    assert not missing and not unexpected, (missing, unexpected)
    assert ours == ref["keys"]
    assert sum(p.numel() for p in model.state_dict().values()) == ref["parameters"]


def test_remap_legacy_attention_keys() -> None:
    model = VideoVAE(VAE_TINY)
    current = model.state_dict()
    legacy = {}
    for k, v in current.items():
        k2 = k.replace("to_q.", "query.").replace("to_k.", "key.").replace("to_v.", "value.")
        k2 = k2.replace("to_out.0.", "proj_attn.")
        # Some legacy files store the projections as 1x1 convs.
        legacy[k2] = v[:, :, None, None] if k2 != k and v.ndim == 2 else v
    assert any("proj_attn" in k for k in legacy)
    remapped = remap_legacy_vae_keys(legacy)
    assert remapped.keys() == current.keys()
    assert all(torch.equal(remapped[k], current[k]) for k in current)
    # Current-style dicts pass through unchanged.
    assert remap_legacy_vae_keys(current).keys() == current.keys()


# ---------------------------------------------------------------------------------- input checks


@pytest.mark.parametrize("frames", [2, 4, 6, 8, 12])
def test_frame_count_must_be_4n_plus_1(vae: VideoVAE, frames: int) -> None:
    with pytest.raises(InputError, match=r"4n\+1 frames"):
        vae.encode_moments(torch.zeros(1, 3, frames, 16, 16))


def test_size_must_be_divisible_by_8(vae: VideoVAE) -> None:
    with pytest.raises(ValueError, match="divisible by 8"):
        vae.encode_moments(torch.zeros(1, 3, 5, 20, 16))
    with pytest.raises(InputError, match="latents"):
        vae.decode(torch.zeros(1, 4, 2, 4, 4))


def test_config_mismatch_is_refused() -> None:
    with pytest.raises(ConfigError, match="4x space"):
        VideoVAE(VAEConfig(block_out_channels=(8, 16, 16), norm_num_groups=4))


# ------------------------------------------------------------------------------------ shapes


@pytest.mark.parametrize("frames", [1, 5, 9])
def test_shapes_round_trip(vae: VideoVAE, frames: int) -> None:
    x = _video(frames, 16, 24)
    moments = vae.encode_moments(x)
    assert moments.shape == (1, 32, (frames - 1) // 4 + 1, 2, 3)
    z = vae.encode(x, sample=False)
    assert z.shape == (1, 16, (frames - 1) // 4 + 1, 2, 3)
    assert vae.decode(z).shape == x.shape


# ------------------------------------------------------------------------- causality and slicing


@pytest.mark.parametrize("kernel,stride", [((3, 3, 3), 1), ((3, 3, 3), (2, 2, 2)), ((1, 3, 3), (1, 2, 2))])
def test_causal_conv_chunked_equals_whole(kernel: tuple, stride: int | tuple) -> None:
    torch.manual_seed(0)
    conv = CausalConv3d(4, 6, kernel, stride=stride)
    x = torch.randn(2, 4, 13, 8, 8)
    whole, _ = conv(x)
    # Streaming with the returned tail: first chunk 5 frames, then 4 at a time.
    outs, cache = [], None
    for a, b in [(0, 5), (5, 9), (9, 13)]:
        y, cache = conv(x[:, :, a:b], cache)
        outs.append(y)
    torch.testing.assert_close(torch.cat(outs, 2), whole, rtol=0, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    kt=st.integers(1, 3),
    st_=st.integers(1, 2),
    sizes=st.lists(st.integers(3, 6), min_size=1, max_size=4),
)
def test_causal_conv_any_chunking_equals_whole(kt: int, st_: int, sizes: list[int]) -> None:
    if st_ > kt:
        with pytest.raises(ValueError, match="temporal stride"):
            CausalConv3d(2, 3, (kt, 3, 3), stride=(st_, 1, 1))
        return
    torch.manual_seed(0)
    conv = CausalConv3d(2, 3, (kt, 3, 3), stride=(st_, 1, 1))
    x = torch.randn(1, 2, sum(sizes), 4, 4)
    whole, _ = conv(x)
    outs, cache, a = [], None, 0
    for n in sizes:
        y, cache = conv(x[:, :, a : a + n], cache)
        outs.append(y)
        a += n
    torch.testing.assert_close(torch.cat(outs, 2), whole, rtol=0, atol=1e-6)


def test_causal_conv_is_causal_with_replicated_head() -> None:
    torch.manual_seed(0)
    conv = CausalConv3d(2, 3, 3)
    x = torch.randn(1, 2, 6, 5, 5)
    y, _ = conv(x)
    x2 = x.clone()
    x2[:, :, 4:] += 1.0  # the future must not change earlier outputs
    y2, _ = conv(x2)
    assert torch.equal(y[:, :, :4], y2[:, :, :4])
    # Front padding replicates frame 0: the output equals a plain conv on [x0, x0, x...].
    padded = torch.cat([x[:, :, :1], x[:, :, :1], x], 2)
    ref = torch.nn.functional.conv3d(padded, conv.weight, conv.bias, padding=(0, 1, 1))
    torch.testing.assert_close(y, ref, rtol=0, atol=1e-6)


def test_upsampler_depth_to_space_order_and_dropped_frame() -> None:
    up = Upsample3D(2, temporal=True)
    c, f = 2, 2
    up_in = torch.randn(1, c, f, 3, 3)
    expanded = up.upscale_conv(up_in)
    d2s = rearrange(expanded, "b (x y z c) f h w -> b c (f z) (h x) (w y)", x=2, y=2, z=2)
    # Channel (((x*2 + y)*2 + z)*C + c) lands at time 2f+z, row 2h+x, column 2w+y.
    for x in range(2):
        for y in range(2):
            for z in range(2):
                ch = ((x * 2 + y) * 2 + z) * c + 1
                torch.testing.assert_close(d2s[0, 1, z::2, x::2, y::2], expanded[0, ch])
    out, _ = up(up_in)
    assert out.shape[2] == 2 * f - 1  # the duplicate of frame 0 is dropped on the first chunk
    out_next, _ = up(up_in, {"conv": torch.zeros(1, c, 2, 6, 6)})
    assert out_next.shape[2] == 2 * f  # later chunks keep every frame


def test_encoder_is_causal(vae: VideoVAE) -> None:
    x = _video(9, 16, 24)
    x2 = x.clone()
    x2[:, :, 5:] = -x2[:, :, 5:]  # change frames 5..8: latent 2 only
    m1, m2 = vae.encode_moments(x), vae.encode_moments(x2)
    assert torch.equal(m1[:, :, :2], m2[:, :, :2])
    assert not torch.allclose(m1[:, :, 2], m2[:, :, 2])


@pytest.mark.parametrize("frames", [13, 17])
def test_sliced_equals_whole(vae: VideoVAE, frames: int) -> None:
    x = _video(frames, 16, 24, seed=frames)
    whole, sliced = vae.encode_moments(x, sliced=False), vae.encode_moments(x, sliced=True)
    torch.testing.assert_close(sliced, whole, rtol=0, atol=1e-5 * whole.abs().max().item())
    z = whole[:, :16]
    dw, ds = vae.decode(z, sliced=False), vae.decode(z, sliced=True)
    assert dw.shape[2] == frames
    torch.testing.assert_close(ds, dw, rtol=0, atol=1e-5 * dw.abs().max().item())


def test_larger_slices_stay_exact(vae: VideoVAE) -> None:
    # Bigger chunks trade memory for throughput; the caches keep them exact too.
    wide = VideoVAE(dataclasses.replace(MINI, encode_slice_frames=8, decode_slice_latents=2)).eval()
    wide.load_state_dict(vae.state_dict())
    x = _video(21, 16, 16, seed=5)
    whole = vae.encode_moments(x, sliced=False)
    torch.testing.assert_close(wide.encode_moments(x), whole, rtol=0, atol=1e-5 * whole.abs().max().item())
    z = whole[:, :16]
    dw = vae.decode(z, sliced=False)
    torch.testing.assert_close(wide.decode(z), dw, rtol=0, atol=1e-5 * dw.abs().max().item())


def test_batch_equals_single(vae: VideoVAE) -> None:
    x = _video(5, 16, 16, b=2)
    both = vae.encode_moments(x)
    one = vae.encode_moments(x[1:])
    torch.testing.assert_close(both[1:], one, rtol=0, atol=1e-5)


# ------------------------------------------------------------------------------------- posterior


def test_posterior_sample_and_mode(vae: VideoVAE) -> None:
    x = _video(5, 16, 16)
    moments = vae.encode_moments(x)
    mean, logvar = moments.chunk(2, dim=1)
    assert torch.equal(vae.encode(x, sample=False), mean)
    z1 = vae.encode(x, sample=True, generator=torch.Generator().manual_seed(3))
    z2 = vae.encode(x, sample=True, generator=torch.Generator().manual_seed(3))
    z3 = vae.encode(x, sample=True, generator=torch.Generator().manual_seed(4))
    assert torch.equal(z1, z2) and not torch.equal(z1, z3)
    noise = torch.randn(mean.shape, generator=torch.Generator().manual_seed(3))
    expected = mean + torch.exp(0.5 * logvar.clamp(-30, 20)) * noise
    torch.testing.assert_close(z1, expected)


def test_frame_group_norm_in_slices_equals_per_frame_group_norm(monkeypatch: pytest.MonkeyPatch) -> None:
    from seedvr.models.vae import blocks

    torch.manual_seed(0)
    norm = blocks.FrameGroupNorm(4, 8, eps=1e-6)
    torch.nn.init.normal_(norm.weight)
    torch.nn.init.normal_(norm.bias)
    x = torch.randn(2, 8, 3, 5, 6) * 3 + 1
    ref = torch.stack([F.group_norm(x[:, :, t], 4, norm.weight, norm.bias, 1e-6) for t in range(3)], 2)
    monkeypatch.setattr(blocks, "NORM_SLICE_BYTES", x.numel())  # forces 4 slices of one group
    assert blocks._slices(4, x.numel() * 4) == 4
    out = torch.full((2, 8, 5, 5, 6), float("nan"))[:, :, 2:]  # a strided target, as the convs use
    torch.testing.assert_close(norm(x, out=out), ref)
    torch.testing.assert_close(out, ref)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bf16_cuda_matches_fp32_and_slices_exactly() -> None:
    torch.manual_seed(0)
    model = VideoVAE(VAE_TINY).eval()
    x = _video(9, 64, 96)
    ref = model.encode_moments(x)
    gpu = model.to("cuda", torch.bfloat16)
    ours = gpu.encode_moments(x.cuda()).float().cpu()
    assert ((ours - ref).abs().max() / ref.abs().max()).item() < 5e-2
    z = ours[:, :16].cuda()
    whole, sliced = gpu.decode(z, sliced=False), gpu.decode(z, sliced=True)
    assert whole.dtype == torch.bfloat16
    assert ((whole - sliced).abs().max() / whole.abs().max()).item() < 2e-2
