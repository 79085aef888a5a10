"""Read a `.gguf` DiT (the community SeedVR2 quantisations) into a flat state dict.

Tensor names are the released state-dict keys, optionally under the `model.diffusion_model.` prefix the
ComfyUI GGUF tools write; shapes are the reversed ggml dims unless a `comfy.gguf.orig_shape.<name>`
entry gives the original one. F32/F16 tensors are taken as stored; BF16 and quantised ones (Q8_0,
Q4_K, ...) are dequantised with `gguf.quants.dequantize` into fp32 and rounded once to `dtype`, so a
7B file never needs a full fp32 copy in memory. Needs the optional `gguf` package.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from seedvr.errors import CheckpointError

PREFIX = "model.diffusion_model."
_SHAPE_KEY = "comfy.gguf.orig_shape."


def _gguf():
    try:
        import gguf
    except ImportError:
        raise CheckpointError(
            "reading .gguf weights needs the gguf package: pip install 'seedvr-lakehouse[gguf]' (or gguf==0.19.0)"
        ) from None
    return gguf


def read_gguf(path: str | Path, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """{key: tensor} of a local .gguf file; quantised tensors dequantised to `dtype`."""
    gguf = _gguf()
    path = Path(path)
    try:
        reader = gguf.GGUFReader(str(path))
    except (ValueError, OSError, KeyError, IndexError) as exc:
        raise CheckpointError(f"{path} is not a readable .gguf file ({exc}); it is probably truncated or corrupt, "
                              "download it again") from exc
    prefixed = any(t.name.startswith(PREFIX) for t in reader.tensors)
    state = {}
    for tensor in reader.tensors:
        if prefixed and not tensor.name.startswith(PREFIX):
            continue
        key = tensor.name.removeprefix(PREFIX)
        state[key] = _tensor(gguf, reader, tensor, path, dtype)
    return state


def _logical_shape(gguf, reader, tensor) -> tuple[int, ...]:  # noqa: ANN001
    field = reader.get_field(_SHAPE_KEY + tensor.name)
    if field is None:
        return tuple(int(d) for d in reversed(tensor.shape.tolist()))
    return tuple(int(field.parts[i][0]) for i in field.data)


def _tensor(gguf, reader, tensor, path: Path, dtype: torch.dtype) -> torch.Tensor:  # noqa: ANN001
    qtype = tensor.tensor_type
    shape = _logical_shape(gguf, reader, tensor)
    kind = gguf.GGMLQuantizationType
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # read-only memory map: copied below
        if qtype in (kind.F32, kind.F16):
            out = torch.from_numpy(np.array(tensor.data))
        else:
            try:
                values = gguf.quants.dequantize(tensor.data, qtype)
            except (NotImplementedError, KeyError, ValueError) as exc:
                raise CheckpointError(
                    f"{path}: tensor {tensor.name} uses GGUF type {qtype.name}, which gguf cannot dequantise "
                    f"({exc}); use a Q8_0, Q4_K/Q5_K/Q6_K, F16 or BF16 file, or the .safetensors weights"
                ) from None
            out = torch.from_numpy(values).to(torch.bfloat16 if qtype == kind.BF16 else dtype)
    if out.numel() != int(np.prod(shape)):
        raise CheckpointError(f"{path}: tensor {tensor.name} holds {out.numel()} values but its shape is {list(shape)}; "
                              "the file is corrupt, download or convert it again")
    return out.reshape(shape)
