"""One entry point for every preset, so callers need not special-case the model-free one."""

from __future__ import annotations

from typing import Any

from seedvr.restorer.identity import IdentityRestorer
from seedvr.restorer.protocol import Restorer


def load_restorer(preset: Any, weights: Any = None, **kwargs: Any) -> Restorer:
    """`IdentityRestorer` for the "identity" preset (kwarg `scale`), else `ClipRestorer.from_preset`.

    `dtype` may be given by name ("auto", "bfloat16", "bf16", "float32", ...) as the command lines and
    the job config spell it; `vae_tiling` as a tile edge in pixels.
    """
    from seedvr.checkpoints.presets import get_preset

    resolved = get_preset(preset)
    if resolved.is_identity:
        return IdentityRestorer(scale=int(kwargs.get("scale", 1)))
    from seedvr.restorer.clip import ClipRestorer

    if isinstance(kwargs.get("dtype"), str):
        import torch

        from seedvr.defaults import normalize_dtype

        name = normalize_dtype(kwargs["dtype"])
        kwargs["dtype"] = getattr(torch, name) if name else None
    return ClipRestorer.from_preset(resolved, weights, **kwargs)
