"""float8 state dicts: find their scale tensors, check them, and dequantise.

The community SeedVR2 fp8 files (`*_fp8_e4m3fn*.safetensors`) are plain casts of every tensor to
`float8_e4m3fn`, with no scale at all (the 7B "mixed" files keep block 35 in fp16). Scaled-fp8 files
store a scale next to each quantised weight, w = w_fp8 * scale, under one of two names:

- `<module>.scale_weight` (ComfyUI's scaled fp8, with a `scaled_fp8` marker tensor), a scalar;
- `<module>.weight_scale` (compressed-tensors / vLLM), a scalar or per output channel ([out] or [out, 1]).

Activation scales (`scale_input`, `input_scale`) only matter for fp8 matmuls, which this code does not
run: they are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from seedvr.checkpoints.state_dict import FLOAT8_DTYPES
from seedvr.errors import CheckpointError

SCALE_SUFFIXES = (".scale_weight", ".weight_scale")
_DROPPED_SUFFIXES = (".scale_input", ".input_scale")
_MARKERS = ("scaled_fp8",)


@dataclass
class Float8State:
    """A state dict with its scale tensors taken out: weight key -> fp32 scale broadcastable to the weight."""

    tensors: dict[str, torch.Tensor]
    scales: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def has_float8(self) -> bool:
        return any(is_float8(v) for v in self.tensors.values())


def is_float8(t: torch.Tensor) -> bool:
    return t.dtype in FLOAT8_DTYPES


def split_scales(state: dict[str, torch.Tensor], source: str | Path) -> Float8State:
    """Separate scale tensors from the weights they scale, refusing orphaned, misshapen or missing ones."""
    tensors, scales = {}, {}
    for key, value in state.items():
        if key in _MARKERS or key.endswith(_DROPPED_SUFFIXES):
            continue
        suffix = next((s for s in SCALE_SUFFIXES if key.endswith(s)), None)
        if suffix is None:
            tensors[key] = value
            continue
        weight = key[: -len(suffix)] + ".weight"
        if weight in scales:
            raise CheckpointError(f"{source} stores two scales for {weight}; keep one of {list(SCALE_SUFFIXES)}")
        scales[weight] = (key, value)
    out = {}
    for weight, (key, scale) in scales.items():
        target = tensors.get(weight)
        if target is None or not is_float8(target):
            what = "no tensor" if target is None else f"a {str(target.dtype).removeprefix('torch.')} tensor"
            raise CheckpointError(f"{source}: scale {key} belongs to {what} {weight}; "
                                  "scales are only valid for float8 weights, remove it or re-export the file")
        out[weight] = _broadcast_scale(key, scale, target, source)
    scaled = bool(out) or any(k in state for k in _MARKERS)
    if scaled:
        unscaled = [k for k, v in tensors.items() if is_float8(v) and v.ndim >= 2 and k not in out]
        if unscaled:
            raise CheckpointError(
                f"{source} is a scaled fp8 file but {len(unscaled)} float8 weight(s) have no scale "
                f"(e.g. {unscaled[0]}); the file is incomplete, download or convert it again"
            )
    return Float8State(tensors, out)


def _broadcast_scale(key: str, scale: torch.Tensor, weight: torch.Tensor, source: str | Path) -> torch.Tensor:
    """A scalar or per-output-channel scale as fp32 shaped to broadcast against `weight`."""
    out_ch = weight.shape[0] if weight.ndim else 1
    if scale.numel() == 1:
        shaped = scale.reshape(())
    elif weight.ndim >= 1 and scale.numel() == out_ch and scale.shape in ((out_ch,), (out_ch, 1)):
        shaped = scale.reshape((out_ch,) + (1,) * (weight.ndim - 1))
    else:
        raise CheckpointError(
            f"{source}: scale {key} has shape {list(scale.shape)} but {key.rsplit('.', 1)[0]}.weight is "
            f"{list(weight.shape)}; expected a scalar or one scale per output channel ([{out_ch}] or [{out_ch}, 1])"
        )
    shaped = shaped.float()
    if not bool(torch.isfinite(shaped).all()) or bool((shaped <= 0).any()):
        raise CheckpointError(f"{source}: scale {key} holds non-finite or non-positive values; the file is corrupt")
    return shaped


def dequantize(t: torch.Tensor, scale: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
    """float8 (times its scale, in fp32) rounded once to `dtype`; other tensors are cast."""
    if not is_float8(t):
        return t.to(dtype)
    w = t.float()
    if scale is not None:
        w = w * scale.to(w.device)
    return w.to(dtype)


def quantize_float8(t: torch.Tensor, *, per_channel: bool = False,
                    dtype: torch.dtype = torch.float8_e4m3fn) -> tuple[torch.Tensor, torch.Tensor]:
    """(w_fp8, scale) with w ~ w_fp8 * scale, the largest magnitude mapped to the fp8 maximum: per tensor
    (scalar scale) or, for 2-D weights, per output channel ([out, 1]). For making test and benchmark files;
    the community files are plain `t.to(torch.float8_e4m3fn)` casts instead."""
    w = t.detach().float()
    rowwise = per_channel and w.ndim == 2
    amax = w.abs().amax(dim=1, keepdim=True) if rowwise else w.abs().amax()
    scale = (amax / torch.finfo(dtype).max).clamp_min(torch.finfo(torch.float32).tiny)
    return (w / scale).to(dtype), scale


def float8_state(state: dict[str, torch.Tensor], scaling: str = "none") -> dict[str, torch.Tensor]:
    """A float8 copy of a state dict in one of the layouts found in the wild (for tests and benchmarks):

    - "none": every floating tensor cast to e4m3fn, as the community SeedVR2 fp8 files are;
    - "tensor": 2-D weights quantised with a scalar `<module>.scale_weight` plus the `scaled_fp8` marker
      (ComfyUI's scaled fp8), other tensors as stored;
    - "channel": 2-D weights with a per-output-channel `<module>.weight_scale` [out, 1] (compressed-tensors).
    """
    if scaling not in ("none", "tensor", "channel"):
        raise ValueError(f"scaling must be 'none', 'tensor' or 'channel', got {scaling!r}")
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if scaling == "none":
            out[key] = value.to(torch.float8_e4m3fn) if value.is_floating_point() else value
        elif value.ndim == 2 and key.endswith(".weight"):
            w, scale = quantize_float8(value, per_channel=scaling == "channel")
            module = key.removesuffix(".weight")
            out[key] = w
            out[f"{module}.scale_weight" if scaling == "tensor" else f"{module}.weight_scale"] = scale
        else:
            out[key] = value
    if scaling == "tensor":
        out["scaled_fp8"] = torch.empty(0, dtype=torch.float8_e4m3fn)
    return out
