"""Seeded Gaussian noise in the compute dtype.

Drawn in float32 on a CPU generator (the same values on every device), then rounded to the compute
dtype: the reference draws its noise with `randn_like` of the bf16 latent, so in bf16 its starting
point x_T, and hence x_0 = x_T - v after one step, carry bf16-rounded noise. In float32 the cast is
a no-op.
"""

from __future__ import annotations

import torch
from torch import Tensor


def gaussian_noise(shape: tuple[int, ...] | torch.Size, generator: torch.Generator, *,
                   device: torch.device | str, dtype: torch.dtype) -> Tensor:
    """N(0, 1) noise of `shape` from `generator` (a CPU one), on `device` in `dtype`."""
    return torch.randn(tuple(shape), generator=generator, dtype=torch.float32).to(device=device, dtype=dtype)
