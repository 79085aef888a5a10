"""Varlen attention backends against a naive per-sequence reference."""

from __future__ import annotations

import pytest
import torch

from seedvr.models.attention import VarlenLayout, flash_available, resolve_backend, varlen_attention


def naive(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, seqlens: list[int]) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v, one sequence at a time, in float64."""
    outs, start = [], 0
    for n in seqlens:
        qs, ks, vs = (x[start:start + n].double().transpose(0, 1) for x in (q, k, v))  # h n d
        w = torch.softmax(qs @ ks.transpose(1, 2) / q.shape[-1] ** 0.5, dim=-1)
        outs.append((w @ vs).transpose(0, 1))
        start += n
    return torch.cat(outs)


def random_packed(seqlens: list[int], heads: int = 3, dim: int = 16, seed: int = 0):  # noqa: ANN201
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(sum(seqlens), heads, dim, generator=g) for _ in range(3)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sdpa_batched_matches_naive_on_random_varlen(seed: int) -> None:
    g = torch.Generator().manual_seed(100 + seed)
    seqlens = sorted(torch.randint(1, 40, (25,), generator=g).tolist()) + [7, 7, 3, 50]  # runs + tail
    q, k, v = random_packed(seqlens, seed=seed)
    layout = VarlenLayout.from_seqlens(seqlens)
    assert len(layout.groups) < len(seqlens)  # equal lengths batched together
    out = varlen_attention(q, k, v, layout, backend="sdpa")
    torch.testing.assert_close(out.double(), naive(q, k, v, seqlens), rtol=1e-5, atol=1e-5)


def test_sdpa_accepts_strided_views() -> None:
    seqlens = [5, 5, 9]
    qkv = torch.randn(sum(seqlens), 3, 2, 8)
    q, k, v = qkv.unbind(1)
    out = varlen_attention(q, k, v, VarlenLayout.from_seqlens(seqlens), backend="sdpa")
    torch.testing.assert_close(out.double(), naive(q, k, v, seqlens), rtol=1e-5, atol=1e-5)


def test_layout_groups_and_offsets() -> None:
    layout = VarlenLayout.from_seqlens([2, 2, 5, 5, 5, 1])
    assert layout.cu_seqlens.tolist() == [0, 2, 4, 9, 14, 19, 20]
    assert layout.cu_seqlens.dtype == torch.int32
    assert layout.groups == ((0, 2, 2), (4, 3, 5), (19, 1, 1))
    assert layout.max_seqlen == 5 and layout.total == 20
    with pytest.raises(ValueError, match="positive"):
        VarlenLayout.from_seqlens([3, 0])


def test_backend_resolution_on_cpu() -> None:
    q = torch.zeros(4, 1, 8)
    assert resolve_backend("auto", q) == "sdpa"
    assert resolve_backend("sdpa", q) == "sdpa"
    with pytest.raises(ValueError, match="flash-attn"):
        resolve_backend("flash", q)
    with pytest.raises(ValueError, match="one of"):
        resolve_backend("xformers", q)


def test_length_mismatch_is_rejected() -> None:
    q, k, v = random_packed([4, 4])
    with pytest.raises(ValueError, match="packed length"):
        varlen_attention(q, k, v, VarlenLayout.from_seqlens([4, 5]))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("backend", ["flash", "sdpa"])
def test_cuda_backends_match_naive_bf16(backend: str) -> None:
    if backend == "flash" and not flash_available():
        pytest.skip("flash-attn not installed")
    seqlens = [17, 17, 64, 120, 3]
    q, k, v = (x.cuda().bfloat16() for x in random_packed(seqlens, heads=4, dim=64))
    out = varlen_attention(q, k, v, VarlenLayout.from_seqlens(seqlens, "cuda"), backend=backend)
    ref = naive(q.float().cpu(), k.float().cpu(), v.float().cpu(), seqlens)
    err = float((out.float().cpu().double() - ref).abs().max())
    print(f"{backend} bf16 max abs error vs fp64: {err:.2e}")
    assert err < 2e-2
