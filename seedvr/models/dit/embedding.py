"""Timestep embedding: sinusoidal [sin | cos] (256-d) -> Linear, SiLU, Linear, SiLU, Linear -> 6 * dim.

Its weights stay float32 in a half-precision model (`seedvr.models.precision`), so the emb is fp32.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..precision import KeepFloat32


def sinusoidal_embedding(timestep: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """[B] -> [B, dim] float32: [sin(t f) | cos(t f)], f_k = exp(-ln(max_period) k / (dim/2))."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timestep.device)
                      / half)
    angles = timestep.float()[:, None] * freqs[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class TimeEmbedding(KeepFloat32):
    def __init__(self, hidden_dim: int, output_dim: int, sinusoidal_dim: int = 256) -> None:
        super().__init__()
        self.sinusoidal_dim = sinusoidal_dim
        self.proj_in = nn.Linear(sinusoidal_dim, hidden_dim)
        self.proj_hid = nn.Linear(hidden_dim, hidden_dim)
        self.proj_out = nn.Linear(hidden_dim, output_dim)

    def forward(self, timestep: torch.Tensor) -> torch.Tensor:
        """timestep [B] on the 0..1000 scale -> emb [B, output_dim] in the dtype of the weights."""
        emb = sinusoidal_embedding(timestep, self.sinusoidal_dim).to(self.proj_in.weight.dtype)
        emb = F.silu(self.proj_in(emb))
        emb = F.silu(self.proj_hid(emb))
        return self.proj_out(emb)
