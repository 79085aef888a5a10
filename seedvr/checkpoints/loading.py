"""Load a preset's DiT, VAE and text embeddings onto a device without a second copy in memory.

Models are built on the meta device and the memory-mapped state dict is assigned into them
(`load_state_dict(strict=True, assign=True)`), after a strict key/shape check with a readable diff.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from seedvr.checkpoints.build import build_dit, build_vae, dit_shapes, random_init, reset_buffers
from seedvr.checkpoints.files import find_first, join, local_copy, sha256_file
from seedvr.checkpoints.presets import PRESETS, TINY_TEXT_TOKENS, Preset, get_preset
from seedvr.checkpoints.quantized import dequantize, is_float8, split_scales
from seedvr.checkpoints.state_dict import pickled_checkpoint_error, read_state_dict
from seedvr.checkpoints.validate import Shapes, diff_shapes, shapes_of
from seedvr.errors import CheckpointError, ConfigError
from seedvr.models.dit.fp8_linear import use_float8_linears
from seedvr.models.precision import compute_dtype_of, float32_keys

Weights = str | os.PathLike | Mapping[str, str | os.PathLike]
_COMPONENTS = ("dit", "vae", "pos_emb", "neg_emb")
# float8 DiT weights: dequantised to the compute dtype at load, or kept fp8 in the Linear layers and
# dequantised at each call (half the weight memory of bf16). Other fp8 tensors are always dequantised.
Float8Mode = Literal["dequantize", "on_the_fly"]
FLOAT8_MODES = ("dequantize", "on_the_fly")


@dataclass
class LoadedModels:
    dit: nn.Module
    vae: nn.Module
    pos_emb: torch.Tensor  # [L_pos, txt_in_dim]
    neg_emb: torch.Tensor  # [L_neg, txt_in_dim]
    # component -> file URL / path, and component -> sha256 (or "random:seed=N")
    sources: dict[str, str] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)


def default_dtype(device: torch.device) -> torch.dtype:
    """bf16 on accelerators (as the reference computes), fp32 on CPU where bf16 is slow and lossy."""
    return torch.float32 if device.type == "cpu" else torch.bfloat16


def resolve_weight_files(preset: Preset, weights: Weights) -> dict[str, str]:
    """Map each component to a file: a folder (local or URL) is searched for the preset's names;
    a mapping names files explicitly (missing components are searched next to the DiT file)."""
    if preset.files is None:
        raise ConfigError(f"preset {preset.name!r} has no weights")
    names = {"dit": preset.files.dit, "vae": preset.files.vae,
             "pos_emb": (preset.files.pos_emb,), "neg_emb": (preset.files.neg_emb,)}
    if isinstance(weights, Mapping):
        unknown = sorted(set(weights) - set(_COMPONENTS))
        if unknown:
            raise ConfigError(f"unknown weight component(s) {unknown}; use {list(_COMPONENTS)}")
        explicit = {k: str(v) for k, v in weights.items()}
        if "dit" not in explicit:
            raise ConfigError("a weights mapping needs at least a 'dit' entry")
        folder = explicit["dit"].rsplit("/", 1)[0] if "/" in explicit["dit"] else "."
        return {c: explicit.get(c) or find_first(folder, names[c]) for c in _COMPONENTS}
    text = str(weights)
    if text.endswith((".pth", ".safetensors", ".gguf")):
        return resolve_weight_files(preset, {"dit": text})
    return {c: find_first(text, names[c]) for c in _COMPONENTS}


def _load_into(model: nn.Module, state: dict[str, torch.Tensor], *, device: torch.device,
               dtype: torch.dtype, what: str, source: str, preset: Preset,
               fp8: Float8Mode = "dequantize") -> nn.Module:
    split = split_scales(state, source)
    state = split.tensors
    diff = diff_shapes(shapes_of(model.state_dict()), shapes_of(state))
    if not diff.ok:
        hint = ""
        if what == "DiT":
            fits = presets_fitting_dit(shapes_of(state))
            hint = (f"\nthis file fits preset(s): {', '.join(fits)}" if fits
                    else "\nno known preset fits this file")
        raise CheckpointError(f"{what} weights {source} do not match preset {preset.name!r}:\n{diff.describe()}{hint}")
    # Cast one tensor at a time; a no-op cast keeps the memory-mapped storage (fp32 on CPU). Norms, modulation
    # and the timestep embedding stay fp32 in a half-precision model (seedvr.models.precision).
    keep = float32_keys(model)
    stay_fp8 = set()
    if fp8 == "on_the_fly":
        stay_fp8 = set(use_float8_linears(model, {k for k, v in state.items() if is_float8(v) and k not in keep}))
    cast = {}
    for key, value in state.items():
        module = key.rpartition(".")[0]
        if module in stay_fp8 and key.endswith(".weight"):
            cast[key] = value.to(device)
        else:
            cast[key] = dequantize(value.to(device), split.scales.get(key), compute_dtype_of(key, value, dtype, keep))
    model.load_state_dict(cast, strict=True, assign=True)
    for name in stay_fp8:
        model.get_submodule(name).set_scale(split.scales.get(f"{name}.weight"))
    reset_buffers(model)
    return model.eval().requires_grad_(False)


def presets_fitting_dit(found: Shapes) -> list[str]:
    """Names of the presets whose DiT has exactly these keys and shapes."""
    fits = []
    for name, preset in PRESETS.items():
        if preset.dit is not None and diff_shapes(dit_shapes(preset.dit), found).ok:
            fits.append(name)
    return fits


def load_text_embedding(url: str, cache_dir: str | os.PathLike | None = None) -> torch.Tensor:
    path = local_copy(url, cache_dir)
    try:
        emb = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        if (refused := pickled_checkpoint_error(url, exc)) is not None:
            raise refused from None
        raise CheckpointError(f"text embedding {url} could not be read ({exc}); download it again") from exc
    if not isinstance(emb, torch.Tensor) or emb.ndim != 2:
        raise CheckpointError(f"text embedding {url} must be one [tokens, dim] tensor, got {getattr(emb, 'shape', type(emb))}")
    return emb


def load_models(preset: Preset | str, weights: Weights | None = None, *, device: str | torch.device = "cpu",
                dtype: torch.dtype | None = None, attention: str = "auto",
                cache_dir: str | os.PathLike | None = None, fp8: Float8Mode = "dequantize") -> LoadedModels:
    """Build and load everything a preset needs; tiny presets without weights get seeded random ones.

    `fp8` says what happens to float8 DiT weights (see `Float8Mode`); it has no effect on other files.
    """
    preset = get_preset(preset)
    if preset.dit is None or preset.vae is None:
        raise ConfigError(f"preset {preset.name!r} has no model to load")
    device = torch.device(device)
    dtype = dtype or default_dtype(device)
    if dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise ConfigError(f"compute dtype must be float32, float16 or bfloat16, got {dtype}")
    if fp8 not in FLOAT8_MODES:
        raise ConfigError(f"fp8 must be one of {', '.join(FLOAT8_MODES)}; got {fp8!r}")
    if weights is None:
        if preset.random_init_seed is None:
            raise ConfigError(
                f"preset {preset.name!r} needs weights: pass the folder holding {preset.files.dit[0]} "
                f"and {preset.files.vae[0]} (local path or URL)"
            )
        return _random_models(preset, device, dtype, attention)
    files = resolve_weight_files(preset, weights)
    local = {c: local_copy(u, cache_dir) for c, u in files.items()}
    dit = _load_into(build_dit(preset.dit, attention=attention), read_state_dict(local["dit"], dtype), device=device,
                     dtype=dtype, what="DiT", source=files["dit"], preset=preset, fp8=fp8)
    vae = _load_into(build_vae(preset.vae), _vae_state(local["vae"]), device=device, dtype=dtype,
                     what="VAE", source=files["vae"], preset=preset)
    pos, neg = (load_text_embedding(str(local[c])) for c in ("pos_emb", "neg_emb"))
    for name, emb in (("pos_emb", pos), ("neg_emb", neg)):
        if emb.shape[-1] != preset.dit.txt_in_dim:
            raise CheckpointError(
                f"{name} has width {emb.shape[-1]} but preset {preset.name!r} expects {preset.dit.txt_in_dim}"
            )
    return LoadedModels(
        dit, vae, pos.to(device, dtype), neg.to(device, dtype), sources=dict(files),
        sha256={c: sha256_file(p, Path(cache_dir) / "sha256" if cache_dir else None) for c, p in local.items()},
    )


def _vae_state(path: Path) -> dict[str, torch.Tensor]:
    from seedvr.models.vae.keys import remap_legacy_vae_keys

    return remap_legacy_vae_keys(read_state_dict(path))


def _random_models(preset: Preset, device: torch.device, dtype: torch.dtype, attention: str) -> LoadedModels:
    seed = int(preset.random_init_seed or 0)
    dit = random_init(lambda: build_dit(preset.dit, device="cpu", attention=attention), seed)
    vae = random_init(lambda: build_vae(preset.vae, device="cpu"), seed + 1)
    g = torch.Generator().manual_seed(seed + 2)
    pos = torch.randn(TINY_TEXT_TOKENS[0], preset.dit.txt_in_dim, generator=g)
    neg = torch.randn(TINY_TEXT_TOKENS[1], preset.dit.txt_in_dim, generator=g)
    tag = f"random:seed={seed}"
    dit = dit.to(device, dtype).eval().requires_grad_(False)
    vae = vae.to(device, dtype).eval().requires_grad_(False)
    reset_buffers(dit)
    return LoadedModels(dit, vae, pos.to(device, dtype), neg.to(device, dtype),
                        sources=dict.fromkeys(_COMPONENTS, tag), sha256=dict.fromkeys(_COMPONENTS, tag))


def save_state_dict(model: nn.Module, path: str | os.PathLike, dtype: torch.dtype | None = None) -> Path:
    """Write a model's weights as .pth or .safetensors (used to make tiny test checkpoints)."""
    path = Path(path)
    state = {k: (v.to(dtype) if dtype and v.is_floating_point() else v).detach().contiguous().cpu()
             for k, v in model.state_dict().items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path


__all__ = ["FLOAT8_MODES", "Float8Mode", "LoadedModels", "default_dtype", "join", "load_models", "load_text_embedding",
           "presets_fitting_dit", "resolve_weight_files", "save_state_dict"]
