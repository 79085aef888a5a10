"""RoPE frequencies (both families) and the pairwise rotation."""

from __future__ import annotations

import math

import torch

from seedvr.models.rope import AxialRoPE3d, apply_rope, rope_cos_sin, rope_frequencies


def test_lang_frequencies_of_the_3b() -> None:
    f = rope_frequencies("lang", 128 // 3)  # rope_dim 128 -> 42 per axis -> 21 freqs
    assert f.shape == (21,) and f.dtype == torch.float32
    k = torch.arange(21, dtype=torch.float64)
    torch.testing.assert_close(f.double(), 10000.0 ** (-2 * k / 42), rtol=1e-6, atol=0)


def test_pixel_frequencies_of_the_7b() -> None:
    f = rope_frequencies("pixel", (128 // 2) // 3)  # head_dim // 2 = 64 -> 21 per axis -> 10 freqs
    assert f.shape == (10,)
    torch.testing.assert_close(f, math.pi * torch.linspace(1, 128, 10))


def test_odd_axis_dim_keeps_dim_over_two_freqs() -> None:
    assert rope_frequencies("lang", 21).shape == (10,)  # the tiny golden config
    assert rope_frequencies("pixel", 10).shape == (5,)


def naive_rope(x: torch.Tensor, pos: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """Complex-number rotation of channel pairs, axis by axis: an independent formulation."""
    out = x.clone().double()
    n = freqs.numel()
    for axis in range(3):
        for k in range(n):
            c = 2 * (axis * n + k)
            z = torch.complex(out[..., c], out[..., c + 1])
            z = z * torch.exp(1j * pos[:, axis, None].double() * freqs[k].double())
            out[..., c], out[..., c + 1] = z.real, z.imag
    return out


def test_apply_rope_matches_complex_rotation_and_leaves_tail() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 2, 64, generator=g)
    pos = torch.randint(0, 100, (7, 3), generator=g).float()
    freqs = rope_frequencies("lang", 21)
    cos, sin = rope_cos_sin(pos, freqs)
    y = apply_rope(x, cos, sin)
    torch.testing.assert_close(y.double(), naive_rope(x, pos, freqs), rtol=1e-4, atol=1e-4)
    assert torch.equal(y[..., 60:], x[..., 60:])
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))


def test_zero_position_is_exact_identity_and_bf16_roundtrip() -> None:
    x = torch.randn(4, 3, 64).bfloat16()
    cos, sin = rope_cos_sin(torch.zeros(4, 3), rope_frequencies("pixel", 10))
    y = apply_rope(x, cos, sin)
    assert y.dtype == torch.bfloat16 and torch.equal(y, x)


def test_buffer_key_and_reset() -> None:
    rope = AxialRoPE3d("lang", 42)
    assert list(rope.state_dict()) == ["rope.freqs"]
    rope.rope.freqs = rope.freqs.to(torch.float8_e4m3fn).float()  # quantised copy: several freqs change
    assert not torch.equal(rope.freqs, rope_frequencies("lang", 42))
    rope.reset()
    assert torch.equal(rope.freqs, rope_frequencies("lang", 42))
