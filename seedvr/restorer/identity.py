"""A model-free restorer for dry runs and pipeline benchmarks (same interface as the real one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

import seedvr
from seedvr.errors import ConfigError
from seedvr.restorer.frames import resize_frames, validate_frames
from seedvr.restorer.target import TargetSize


class IdentityRestorer:
    """Returns the input unchanged (scale 1, exact) or resized with OpenCV.

    Exercising the whole pipeline without weights or a GPU shows where time goes outside the model.
    """

    def __init__(self, scale: int = 1) -> None:
        if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
            raise ConfigError(f"IdentityRestorer scale must be a positive int, got {scale!r}")
        self.scale = scale
        # Same keys as ClipRestorer.info, so provenance columns have one schema.
        self._info: dict[str, Any] = {
            "preset": "identity",
            "weights": {},
            "weights_sha256": {},
            "dtype": None,
            "device": "cpu",
            "attention": None,
            "compile": False,
            "sampling": {},
            "vae_tiling": None,
            "seedvr_version": seedvr.__version__,
            "scale": scale,
        }

    @property
    def info(self) -> Mapping[str, Any]:
        return dict(self._info)

    def restore(self, frames: np.ndarray, *, seed: int, target: TargetSize | None = None) -> np.ndarray:
        """`seed` is accepted for interface parity and ignored: the output is deterministic."""
        frames = validate_frames(frames)
        _, h, w, _ = frames.shape
        if target is None:
            out_h, out_w = h * self.scale, w * self.scale
        else:
            out_h, out_w = target.output_size(h, w)
        if (out_h, out_w) == (h, w):
            return frames.copy()
        return resize_frames(frames, out_h, out_w)
