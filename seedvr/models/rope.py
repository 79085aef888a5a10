"""Axial 3-D rotary position embedding with the semantics of rotary-embedding-torch 0.5.3.

For a frequency vector f (n entries) and a position p the angles are p * f_k. Each angle rotates one adjacent
channel pair (x_2k, x_2k+1) ("GPT-J" interleaving): out = (x_2k c - x_2k+1 s, x_2k+1 c + x_2k s). The three
axes are concatenated as [t: n pairs | h: n pairs | w: n pairs] over the first 6n channels of each head; the
remaining channels pass through. Everything is computed in float32 and cast back.

Two frequency families, both persisted in checkpoints as `...rope.rope.freqs`:

- "lang" (SeedVR 3B, MM-RoPE): f_k = theta^(-2k/dim), k < dim // 2, integer positions.
- "pixel" (SeedVR 7B): f_k = pi * linspace(1, max_freq / 2, dim // 2), positions linspace(-1, 1) per window.

`dim` is the reference's per-axis rotary dim (its module's `dim // 3`).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

RopeKind = Literal["lang", "pixel"]


def rope_frequencies(kind: RopeKind, dim: int, *, theta: float = 10000.0, max_freq: float = 256.0,
                     device: torch.device | str | None = None) -> torch.Tensor:
    """The analytic float32 frequency vector (dim // 2 entries) of one axis."""
    if kind == "lang":
        return 1.0 / (theta ** (torch.arange(0, dim, 2, device=device)[: dim // 2].float() / dim))
    if kind == "pixel":
        return torch.linspace(1.0, max_freq / 2, dim // 2, device=device) * math.pi
    raise ValueError(f"unknown RoPE kind {kind!r}; expected 'lang' or 'pixel'")


class RotaryFreqs(nn.Module):
    """Holds the persistent `freqs` buffer; recomputable analytically (fp8 checkpoints store it quantised)."""

    def __init__(self, kind: RopeKind, dim: int) -> None:
        super().__init__()
        self.kind, self.dim = kind, dim
        self.register_buffer("freqs", rope_frequencies(kind, dim), persistent=True)

    def reset(self) -> None:
        """Replace the buffer with the analytic float32 values on its current device."""
        self.freqs = rope_frequencies(self.kind, self.dim, device=self.freqs.device)

    def _apply(self, fn, recurse: bool = True):  # noqa: ANN001
        # Keep the frequencies in float32 when the model is cast to bf16/fp16: a rounded copy would shift
        # positions (the fp8 "grid seams" problem), so recompute instead of keeping a cast copy.
        out = super()._apply(fn, recurse)
        if self.freqs.dtype != torch.float32:
            self.reset()
        return out

    def extra_repr(self) -> str:
        return f"kind={self.kind}, dim={self.dim}"


class AxialRoPE3d(nn.Module):
    """One block's RoPE: `rope.freqs` (state-dict key `attn.rope.rope.freqs`) plus the rotation itself."""

    def __init__(self, kind: RopeKind, dim: int) -> None:
        super().__init__()
        self.rope = RotaryFreqs(kind, dim)

    @property
    def freqs(self) -> torch.Tensor:
        return self.rope.freqs

    def reset(self) -> None:
        self.rope.reset()


def rope_cos_sin(positions: torch.Tensor, freqs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """positions [N, 3] (t, h, w) float32, freqs [n] -> cos, sin [N, 3n] (one angle per channel pair)."""
    angles = (positions.float()[:, :, None] * freqs.float()[None, None, :]).flatten(1)  # N (axis n)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the first 2 * cos.shape[-1] channels of x [N, heads, d] pairwise, in float32."""
    pairs = cos.shape[-1]
    rot = x[..., : 2 * pairs].float().unflatten(-1, (pairs, 2))  # N h pairs 2
    x0, x1 = rot.unbind(-1)
    c, s = cos[:, None, :], sin[:, None, :]
    rot = torch.stack((x0 * c - x1 * s, x1 * c + x0 * s), dim=-1).flatten(-2).to(x.dtype)
    if 2 * pairs == x.shape[-1]:
        return rot
    return torch.cat((rot, x[..., 2 * pairs:]), dim=-1)
