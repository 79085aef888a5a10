"""AdaSingle (adaLN-single): one shared timestep embedding, per-block learned offsets.

The shared emb [B, 6D] is laid out as (D, 2 layers, 3) *interleaved*: flat index d*6 + layer*3 + {0 shift,
1 scale, 2 gate}, layer 0 = attn, 1 = mlp. Modulation is x * (e_scale + P_scale) + (e_shift + P_shift) and the
gate x * (e_gate + P_gate): no "1 +", the learned `*_scale` parameters sit around 1 instead.

The offsets stay float32 in a bf16 model, as under the reference's autocast: e + P is summed in fp32 and the
product rounded once to the activation dtype (in bf16 a scale of 1.003 would otherwise become 1.0).
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from ..precision import KeepFloat32


def split_emb(emb: torch.Tensor, layers: int = 2) -> torch.Tensor:
    """[B, layers*3*D] -> [B, layers, 3, D] (shift, scale, gate) from the interleaved (D, layers, 3) layout."""
    return rearrange(emb, "b (d l g) -> b l g d", l=layers, g=3)


def per_sample(x: torch.Tensor, lens: list[int], fn) -> torch.Tensor:  # noqa: ANN001
    """Apply fn(x_i, i) to each sample's rows of packed x (a single call when there is one sample)."""
    if len(lens) == 1:
        return fn(x, 0)
    return torch.cat([fn(xi, i) for i, xi in enumerate(x.split(lens))])


class AdaSingle(KeepFloat32):
    """Learned per-block offsets `{layer}_shift/_scale/_gate` ([D] each, bare parameters)."""

    def __init__(self, dim: int, layers: tuple[str, ...] = ("attn", "mlp"), gates: bool = True) -> None:
        super().__init__()
        self.dim, self.layers = dim, layers
        for name in layers:
            self.register_parameter(f"{name}_shift", nn.Parameter(torch.randn(dim) / dim**0.5))
            self.register_parameter(f"{name}_scale", nn.Parameter(torch.randn(dim) / dim**0.5 + 1))
            if gates:
                self.register_parameter(f"{name}_gate", nn.Parameter(torch.randn(dim) / dim**0.5))

    def modulate(self, x: torch.Tensor, e: torch.Tensor, lens: list[int], layer: str) -> torch.Tensor:
        """x [N, D] packed over samples with `lens`; e [B, 3, D] the emb slice (shift, scale, gate)."""
        shift = e[:, 0] + getattr(self, f"{layer}_shift")
        scale = e[:, 1] + getattr(self, f"{layer}_scale")
        return per_sample(x, lens, lambda xi, i: (xi * scale[i] + shift[i]).to(x.dtype))

    def gate(self, x: torch.Tensor, e: torch.Tensor, lens: list[int], layer: str) -> torch.Tensor:
        gate = e[:, 2] + getattr(self, f"{layer}_gate")
        return per_sample(x, lens, lambda xi, i: (xi * gate[i]).to(x.dtype))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, layers={self.layers}"
