"""Timestep embedding: sinusoidal [sin | cos] (256-d) -> Linear, SiLU, Linear, SiLU, Linear -> 6 * dim."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sinusoidal_embedding(timestep: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """[B] -> [B, dim] float32: [sin(t f) | cos(t f)], f_k = exp(-ln(max_period) k / (dim/2))."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timestep.device)
                      / half)
    angles = timestep.float()[:, None] * freqs[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class TimeEmbedding(nn.Module):
    def __init__(self, hidden_dim: int, output_dim: int, sinusoidal_dim: int = 256) -> None:
        super().__init__()
        self.sinusoidal_dim = sinusoidal_dim
        self.proj_in = nn.Linear(sinusoidal_dim, hidden_dim)
        self.proj_hid = nn.Linear(hidden_dim, hidden_dim)
        self.proj_out = nn.Linear(hidden_dim, output_dim)

    def forward(self, timestep: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """timestep [B] on the 0..1000 scale -> emb [B, output_dim] in `dtype`."""
        emb = sinusoidal_embedding(timestep, self.sinusoidal_dim).to(dtype)
        emb = F.silu(self.proj_in(emb))
        emb = F.silu(self.proj_hid(emb))
        return self.proj_out(emb)
