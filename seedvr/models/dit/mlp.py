"""Feed-forward layers: SwiGLU (3B, no bias) and GELU-tanh (7B, with bias)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def swiglu_hidden(dim: int, expand_ratio: int, multiple_of: int = 256) -> int:
    """int(2 * dim * expand_ratio / 3) rounded up to a multiple of 256 (6912 for dim 2560)."""
    hidden = int(2 * dim * expand_ratio / 3)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


class SwiGLUMLP(nn.Module):
    """proj_out(silu(proj_in_gate(x)) * proj_in(x))."""

    def __init__(self, dim: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = swiglu_hidden(dim, expand_ratio)
        self.proj_in_gate = nn.Linear(dim, hidden, bias=False)
        self.proj_out = nn.Linear(hidden, dim, bias=False)
        self.proj_in = nn.Linear(dim, hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj_out(F.silu(self.proj_in_gate(x)) * self.proj_in(x))


class GeluMLP(nn.Module):
    """proj_out(gelu_tanh(proj_in(x)))."""

    def __init__(self, dim: int, expand_ratio: int) -> None:
        super().__init__()
        self.proj_in = nn.Linear(dim, dim * expand_ratio)
        self.proj_out = nn.Linear(dim * expand_ratio, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj_out(F.gelu(self.proj_in(x), approximate="tanh"))
