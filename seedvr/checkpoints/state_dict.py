"""Read a flat state dict from `.pth`, `.safetensors` or `.gguf`, memory-mapped, with readable errors."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from seedvr.errors import CheckpointError

# float8 tensors (community fp8 files, optionally with scale tensors) are dequantised by `quantized.py`.
FLOAT8_DTYPES = (torch.float8_e4m3fn, torch.float8_e5m2)
ACCEPTED_DTYPES = (torch.float32, torch.float16, torch.bfloat16, *FLOAT8_DTYPES)


def read_state_dict(path: str | os.PathLike, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Flat {key: tensor} of a local weight file; tensors stay memory-mapped on CPU (`dtype`: what quantised
    .gguf tensors are dequantised to).

    fp32/fp16/bf16 and float8 (e4m3fn, e5m2) tensors are accepted; the loader dequantises float8 ones
    and recomputes the RoPE frequencies fp8 files store rounded. `.gguf` files are dequantised here.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weight file {path} does not exist; check the path or download it")
    if path.suffix == ".safetensors":
        state = _read_safetensors(path)
    elif path.suffix in (".pth", ".pt", ".bin", ".ckpt"):
        state = _read_torch(path)
    elif path.suffix == ".gguf":
        from seedvr.checkpoints.gguf_file import read_gguf

        state = read_gguf(path, dtype)
    else:
        raise CheckpointError(
            f"unsupported weight file type {path.suffix!r} ({path}); use .pth, .safetensors or .gguf"
        )
    _check_dtypes(state, path)
    return state


def _unreadable(path: Path, kind: str, detail: str) -> CheckpointError:
    """One wording for a weight file that does not parse: the usual cause is a partial download."""
    return CheckpointError(f"{path} is not a readable {kind} ({detail}); it is probably truncated or corrupt, "
                           "download it again")


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise _unreadable(path, ".safetensors file", str(exc)) from exc
    except TypeError as exc:  # dtypes torch cannot represent
        raise CheckpointError(
            f"{path} holds a tensor dtype torch cannot read ({exc}); use an fp32, fp16, bf16 or fp8 file"
        ) from exc


def pickled_checkpoint_error(path: object, exc: BaseException) -> CheckpointError | None:
    """The error for a file that `weights_only=True` refused. torch's own message advises
    weights_only=False, i.e. running the file's code: it is never repeated to the user."""
    if not (isinstance(exc, pickle.UnpicklingError) or "weights_only" in str(exc)):
        return None
    return CheckpointError(
        f"{path} holds pickled Python objects besides tensors, which this job never executes; save a plain "
        "state dict (torch.save(model.state_dict(), ...)) or convert it to .safetensors"
    )


def _read_torch(path: Path) -> dict[str, torch.Tensor]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:
        if (refused := pickled_checkpoint_error(path, exc)) is not None:
            raise refused from None
        if isinstance(exc, (RuntimeError, zipfile.BadZipFile, EOFError, OSError, ValueError)):
            raise _unreadable(path, "torch checkpoint", str(exc).splitlines()[0]) from exc
        raise
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} does not hold a flat state dict of tensors (got {type(obj).__name__})")
    return obj


def _check_dtypes(state: dict[str, torch.Tensor], path: Path) -> None:
    bad = {k: v.dtype for k, v in state.items() if v.dtype not in ACCEPTED_DTYPES}
    if bad:
        key, dtype = next(iter(bad.items()))
        raise CheckpointError(
            f"{path} stores {len(bad)} tensor(s) as unsupported dtypes (e.g. {key}: {dtype}); "
            "use an fp32, fp16, bf16 or float8 .safetensors file, or a .gguf file"
        )
