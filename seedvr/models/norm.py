"""RMSNorm computed in float32 (as apex's FusedRMSNorm does for half inputs) and cast back; its weight stays
float32 under half-precision model casts (`seedvr.models.precision`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .precision import KeepFloat32


class RMSNorm(KeepFloat32):
    """x / sqrt(mean(x^2) + eps) [* weight] over the last dim; `affine=False` has no parameters."""

    def __init__(self, dim: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps
        self.weight = nn.Parameter(torch.ones(dim)) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight.float() if self.weight is not None else None
        return F.rms_norm(x.float(), (self.dim,), weight, self.eps).to(x.dtype)

    def extra_repr(self) -> str:
        return f"{self.dim}, eps={self.eps}, affine={self.weight is not None}"
