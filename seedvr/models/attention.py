"""Variable-length ("varlen") attention over packed sequences.

The DiT packs every (window video tokens ; sample text tokens) sequence of a batch into one tensor
[total, heads, head_dim] described by `cu_seqlens`. Two backends compute full bidirectional attention inside
each sequence with the default 1/sqrt(head_dim) scale:

- "flash": `flash_attn.flash_attn_varlen_func` (CUDA, fp16/bf16; fp32 inputs are cast to bf16 like the
  reference does and the output is cast back);
- "sdpa": PyTorch `scaled_dot_product_attention`, one batched call per run of equal-length sequences. The
  packer orders sequences by length, so a layer of hundreds of windows needs only a handful of calls.

"auto" picks flash when it imports, the tensors are on CUDA and the dtype is fp16/bf16; otherwise sdpa.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

BACKENDS: tuple[str, ...] = ("auto", "flash", "sdpa")


@dataclass(frozen=True)
class VarlenLayout:
    """Sequence boundaries of a packed tensor.

    `groups` are maximal runs of consecutive sequences with equal length: (first row, count, length).
    """

    seqlens: tuple[int, ...]
    cu_seqlens: torch.Tensor  # int32 [S + 1], on the attention device
    max_seqlen: int
    groups: tuple[tuple[int, int, int], ...]

    @property
    def total(self) -> int:
        return sum(self.seqlens)

    @classmethod
    def from_seqlens(cls, seqlens: Sequence[int], device: torch.device | str | None = None) -> VarlenLayout:
        lens = tuple(int(n) for n in seqlens)
        if not lens or min(lens) <= 0:
            raise ValueError(f"sequence lengths must be a non-empty list of positive ints, got {list(lens)[:8]}")
        cu = torch.zeros(len(lens) + 1, dtype=torch.int32)
        cu[1:] = torch.tensor(lens, dtype=torch.int64).cumsum(0).to(torch.int32)
        groups: list[tuple[int, int, int]] = []
        row = 0
        for n in lens:
            if groups and groups[-1][2] == n:
                start, count, _ = groups[-1]
                groups[-1] = (start, count + 1, n)
            else:
                groups.append((row, 1, n))
            row += n
        # non_blocking: building a plan queues its copies instead of waiting for the device.
        cu = cu.to(device, non_blocking=True) if device is not None else cu
        return cls(lens, cu, max(lens), tuple(groups))


@functools.cache
def flash_available() -> bool:
    """Whether flash-attn's varlen kernel can be imported (never raises)."""
    try:
        from flash_attn import flash_attn_varlen_func  # noqa: F401
    except Exception:  # ImportError, or a broken CUDA build raising at import
        return False
    return True


def resolve_backend(backend: str, q: torch.Tensor) -> Literal["flash", "sdpa"]:
    """Concrete backend for `backend` and the tensors' device/dtype; ValueError for an impossible request."""
    if backend not in BACKENDS:
        raise ValueError(f"attention backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "sdpa":
        return "sdpa"
    usable = q.is_cuda and flash_available()
    if backend == "flash":
        if not usable:
            raise ValueError(
                "attention backend 'flash' needs flash-attn installed and CUDA tensors "
                f"(flash-attn importable: {flash_available()}, device: {q.device})"
            )
        return "flash"
    return "flash" if usable and q.dtype in (torch.float16, torch.bfloat16) else "sdpa"


# Opaque to torch.compile: the SDPA loop and flash's arguments follow the layout's Python ints, which change
# with every clip size and would recompile a compiled caller per clip (seedvr.models.compile).
@torch.compiler.disable
def varlen_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: VarlenLayout,
                     backend: str = "auto") -> torch.Tensor:
    """q, k, v [total, heads, head_dim] -> [total, heads, head_dim], attention within each sequence."""
    if q.shape[0] != layout.total or k.shape[0] != layout.total or v.shape[0] != layout.total:
        raise ValueError(f"packed length {q.shape[0]} does not match the layout's total {layout.total}")
    if resolve_backend(backend, q) == "flash":
        return flash_varlen_attention(q, k, v, layout)
    return sdpa_varlen_attention(q, k, v, layout)


def flash_varlen_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: VarlenLayout
                           ) -> torch.Tensor:
    from flash_attn import flash_attn_varlen_func

    dtype = q.dtype
    if dtype not in (torch.float16, torch.bfloat16):
        q, k, v = q.bfloat16(), k.bfloat16(), v.bfloat16()
    cu = layout.cu_seqlens.to(device=q.device, dtype=torch.int32)
    out = flash_attn_varlen_func(
        q, k, v, cu, cu, layout.max_seqlen, layout.max_seqlen,
        dropout_p=0.0, causal=False, deterministic=torch.are_deterministic_algorithms_enabled(),
    )
    return out.to(dtype)


def sdpa_varlen_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, layout: VarlenLayout
                          ) -> torch.Tensor:
    """One `scaled_dot_product_attention` call per group of equal-length sequences."""
    total, heads, dim = q.shape
    out = q.new_empty(total, heads, v.shape[-1])
    for start, count, length in layout.groups:
        rows = slice(start, start + count * length)
        # (n l) h d -> n h l d: a view, no copy
        qb, kb, vb = (x[rows].unflatten(0, (count, length)).transpose(1, 2) for x in (q, k, v))
        out[rows] = F.scaled_dot_product_attention(qb, kb, vb).transpose(1, 2).flatten(0, 1)
    return out
