"""State-dict key migration for VAE checkpoints saved with the legacy diffusers attention names."""

from __future__ import annotations

import re

from torch import Tensor

# Older diffusers attention blocks: query/key/value/proj_attn; current: to_q/to_k/to_v/to_out.0.
_LEGACY_ATTENTION = {"query": "to_q", "key": "to_k", "value": "to_v", "proj_attn": "to_out.0"}
_PATTERN = re.compile(r"^(?P<prefix>.*\.attentions\.\d+\.)(?P<name>query|key|value|proj_attn)\.(?P<param>weight|bias)$")


def remap_legacy_vae_keys(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """A new dict with legacy attention keys renamed; other keys pass through untouched.

    1x1-conv attention weights ([C, C, 1, 1]) of the same checkpoints are reshaped to the Linear [C, C].
    """
    out: dict[str, Tensor] = {}
    for key, value in state_dict.items():
        m = _PATTERN.match(key)
        if m is None:
            out[key] = value
            continue
        new_key = f"{m['prefix']}{_LEGACY_ATTENTION[m['name']]}.{m['param']}"
        if m["param"] == "weight" and value.ndim > 2:
            value = value.reshape(value.shape[0], value.shape[1])
        if new_key in state_dict:
            raise KeyError(f"state dict holds both {key!r} and its current name {new_key!r}")
        out[new_key] = value
    return out
