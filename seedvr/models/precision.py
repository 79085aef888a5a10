"""Which parameters stay float32 when a model is cast to a half-precision compute dtype.

The reference runs bf16 inference as fp32 weights under `torch.autocast`: matmuls (Linear) see bf16
copies of their weights, but the elementwise AdaSingle modulation adds its fp32 offsets to the bf16
timestep embedding in fp32, so a `scale` near 1 keeps its small deviation (bf16 has a step of 2^-7
at 1). Casting those [D] vectors to bf16 is the largest error a plain `.bfloat16()` adds that autocast
does not. Norm weights are kept too (their statistics are fp32 anyway) and RoPE frequencies are
recomputed in fp32. The timestep embedding MLP is kept as well, one step beyond the reference (which
runs it in bf16 under autocast): it sees B rows per call, so fp32 costs no time, and ~1% of the weights
(67M parameters for the 7B) buys a fp32 emb for every modulation.

Modules that derive from `KeepFloat32` keep their own parameters in float32 through `.to(dtype)`,
`.half()`, `.bfloat16()`: device moves apply, dtype changes to another float type are refused. The
loader asks `float32_keys(model)` which state-dict entries to hand over as float32.
"""

from __future__ import annotations

import torch
from torch import nn


class KeepFloat32(nn.Module):
    """Mixin: the floating parameters of this module and its children stay float32 under dtype casts."""

    def _apply(self, fn, recurse: bool = True):  # noqa: ANN001
        def keep(t: torch.Tensor) -> torch.Tensor:
            out = fn(t)
            if t.dtype == torch.float32 and out.is_floating_point() and out.dtype != torch.float32:
                return t.to(device=out.device)  # the move, without the rounding
            return out

        return super()._apply(keep, recurse)


def float32_keys(model: nn.Module) -> set[str]:
    """State-dict keys of the parameters under `KeepFloat32` modules (fp32 whatever the compute dtype)."""
    keys = set()
    for prefix, module in model.named_modules():
        if isinstance(module, KeepFloat32):
            keys.update(f"{prefix}.{name}" if prefix else name for name, _ in module.named_parameters())
    return keys


def compute_dtype_of(key: str, tensor: torch.Tensor, dtype: torch.dtype, keep: set[str]) -> torch.dtype:
    """The dtype a state-dict entry is loaded in: non-floats as stored, kept keys fp32, others `dtype`."""
    if not tensor.is_floating_point():
        return tensor.dtype
    return torch.float32 if key in keep else dtype
