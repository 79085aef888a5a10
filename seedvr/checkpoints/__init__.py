"""Presets, weight files and strict checkpoint loading."""

from seedvr.checkpoints.files import local_copy, sha256_file
from seedvr.checkpoints.presets import PRESETS, Preset, SamplingConfig, WeightFiles, get_preset
from seedvr.checkpoints.state_dict import read_state_dict
from seedvr.checkpoints.validate import StateDictDiff, diff_shapes

__all__ = [
    "PRESETS",
    "Preset",
    "SamplingConfig",
    "StateDictDiff",
    "WeightFiles",
    "diff_shapes",
    "get_preset",
    "local_copy",
    "read_state_dict",
    "sha256_file",
]
