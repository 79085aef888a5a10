"""Regional `torch.compile` of the repeated blocks: the DiT's MM blocks and the VAE's resnet blocks.

Regional, not whole-model: the 3B DiT repeats one block 32 times, so compiling the block module gives one
graph per kind of block (separate or shared weights, last block), shared by all its instances, at a fraction
of the compile time of the whole model; the model's Python around the blocks (window plans, causal chunks,
VAE tiles) stays eager. Shapes are dynamic from the first call (`dynamic=True`), so other segment lengths,
frame sizes and tiles reuse the graphs instead of recompiling per clip. The window-attention kernels and the
plan's unpacking are opaque to the compiler (`torch.compiler.disable` where they are defined): their Python
loops follow the window layout, which changes with every clip size.

Compiled output equals eager within dtype tolerance (inductor fuses the norms, modulations, gates, RoPE and
SwiGLU; it does not change the math), which is why the job's config hash leaves the choice out.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass

import torch
from torch import nn

from seedvr.errors import ConfigError

MODES = ("auto", "on", "off")
# One graph per block kind and call kind: the VAE's resnets alone have ~6 channel layouts x (first chunk,
# later chunks, single-frame chunks), past dynamo's default of 8 per function.
RECOMPILE_LIMIT = 64


@dataclass(frozen=True)
class CompileChoice:
    """The resolved `compile` setting: whether to compile, and why not when it is off."""

    enabled: bool
    reason: str


def unavailable_reason(device: torch.device) -> str | None:
    """Why inductor cannot compile for `device` here (no Triton on CUDA, no C++ compiler on CPU), else None."""
    if device.type == "cuda" and importlib.util.find_spec("triton") is None:
        return "triton is not installed"
    if device.type == "cpu" and not any(shutil.which(cc) for cc in ("g++", "c++", "clang++")):
        return "no C++ compiler on PATH"
    if device.type not in ("cuda", "cpu"):
        return f"device type {device.type!r} is not compiled"
    return None


def resolve_compile(mode: str | bool | None, device: torch.device | str) -> CompileChoice:
    """`auto` compiles on CUDA when inductor can; `on` compiles or fails here; `off` never compiles.

    `auto` stays eager on CPU: compiling costs tens of seconds per block kind there and the tests and
    smoke runs that use the CPU restore a few tiny clips.
    """
    device = torch.device(device)
    if isinstance(mode, bool):
        mode = "on" if mode else "off"
    mode = "auto" if mode is None else str(mode).strip().lower()
    if mode not in MODES:
        raise ConfigError(f"compile {mode!r} is not one of {', '.join(MODES)}")
    if mode == "off":
        return CompileChoice(False, "compile off")
    missing = unavailable_reason(device)
    if mode == "on":
        if missing:
            raise ConfigError(f"compile on needs inductor for {device} but {missing}; use compile auto or off")
        return CompileChoice(True, "compile on")
    if device.type != "cuda":
        return CompileChoice(False, f"auto: eager on {device.type}")
    if missing:
        return CompileChoice(False, f"auto: eager, {missing}")
    return CompileChoice(True, "auto: compiled on cuda")


def compile_blocks(model: nn.Module, kinds: tuple[type[nn.Module], ...], *, backend: str = "inductor") -> int:
    """Compile, in place, every submodule of `model` that is an instance of `kinds`; returns how many.

    Blocks already compiled are left alone, so calling this twice is harmless.
    """
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
    count = 0
    for module in model.modules():
        if isinstance(module, kinds) and getattr(module, "_compiled_call_impl", None) is None:
            module.compile(dynamic=True, backend=backend)
            count += 1
    return count


def compile_dit(dit: nn.Module, *, backend: str = "inductor") -> int:
    """Compile the DiT's MM blocks (all of them: they are the whole model's compute)."""
    from seedvr.models.dit.block import MMBlock

    return compile_blocks(dit, (MMBlock,), backend=backend)


def compile_vae(vae: nn.Module, *, backend: str = "inductor") -> int:
    """Compile the VAE's resnet blocks: its conv stacks, where GroupNorm + SiLU fuse around each conv."""
    from seedvr.models.vae.blocks import ResnetBlock3D

    return compile_blocks(vae, (ResnetBlock3D,), backend=backend)


def is_compiled(module: nn.Module) -> bool:
    """Whether any submodule of `module` was compiled in place."""
    return any(getattr(m, "_compiled_call_impl", None) is not None for m in module.modules())
