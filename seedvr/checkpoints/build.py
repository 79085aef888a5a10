"""Build the networks without allocating weights (meta device) or with seeded random weights."""

from __future__ import annotations

import dataclasses
import functools

import torch
from torch import nn

from seedvr.checkpoints.validate import Shapes, shapes_of
from seedvr.models.dit.config import DiTConfig
from seedvr.models.vae.config import VAEConfig


def build_dit(cfg: DiTConfig, *, device: str | torch.device = "meta", attention: str | None = None) -> nn.Module:
    """NaDiT on `device`; "meta" costs no memory and is filled later by `load_state_dict(assign=True)`."""
    from seedvr.models.dit.nadit import NaDiT

    if attention is not None and attention != cfg.attention_backend:
        cfg = dataclasses.replace(cfg, attention_backend=attention)
    with torch.device(device):
        return NaDiT(cfg)


def build_vae(cfg: VAEConfig, *, device: str | torch.device = "meta") -> nn.Module:
    from seedvr.models.vae.model import VideoVAE

    with torch.device(device):
        return VideoVAE(cfg)


@functools.lru_cache(maxsize=8)
def dit_shapes(cfg: DiTConfig) -> Shapes:
    """State-dict keys and shapes a DiT config expects (built on meta, so free)."""
    return shapes_of(build_dit(cfg).state_dict())


@functools.lru_cache(maxsize=4)
def vae_shapes(cfg: VAEConfig) -> Shapes:
    return shapes_of(build_vae(cfg).state_dict())


def reset_buffers(model: nn.Module) -> None:
    """Recompute buffers analytically after loading (RoPE frequencies) and check nothing stays on meta.

    Stored frequencies are not trusted: fp16/fp8 copies of them shift token positions.
    """
    hook = getattr(model, "reset_rope_buffers", None)
    if callable(hook):
        hook()
    leftover = [name for name, t in list(model.named_parameters()) + list(model.named_buffers()) if t.is_meta]
    if leftover:
        raise RuntimeError(f"tensors left on the meta device after loading: {leftover[:5]}")


def random_init(model_factory, seed: int) -> nn.Module:
    """Build a model with weights drawn from a private RNG, so the same seed gives the same model."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return model_factory()
