"""Presets, weight files and strict checkpoint loading.

The preset table imports without torch (drivers size clusters from it); loaders import it on use.
"""

from typing import TYPE_CHECKING, Any

from seedvr.checkpoints.files import local_copy, sha256_file
from seedvr.checkpoints.presets import PRESETS, Preset, SamplingConfig, WeightFiles, get_preset
from seedvr.checkpoints.validate import StateDictDiff, diff_shapes

if TYPE_CHECKING:
    from seedvr.checkpoints.loading import LoadedModels, load_models
    from seedvr.checkpoints.state_dict import read_state_dict

__all__ = [
    "PRESETS",
    "LoadedModels",
    "Preset",
    "SamplingConfig",
    "StateDictDiff",
    "WeightFiles",
    "diff_shapes",
    "get_preset",
    "load_models",
    "local_copy",
    "read_state_dict",
    "sha256_file",
]

_LAZY = {"LoadedModels": "loading", "load_models": "loading", "read_state_dict": "state_dict"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"seedvr.checkpoints.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'seedvr.checkpoints' has no attribute {name!r}")
