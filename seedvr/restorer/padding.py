"""Padding that makes any clip fit the model, and exact cropping back afterwards.

The reference centre-crops frames to multiples of 16 and loses up to 15 rows and columns; padding
(then cropping the output) keeps every pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor

SPATIAL_MULTIPLE = 16  # VAE 8x times the DiT's 2x2 patch
TEMPORAL_FACTOR = 4


def padded_frame_count(frames: int) -> int:
    """Smallest 4n+1 >= frames (the causal VAE's frame rule); 1 stays 1."""
    return (max(frames, 1) - 1 + TEMPORAL_FACTOR - 1) // TEMPORAL_FACTOR * TEMPORAL_FACTOR + 1


@dataclass(frozen=True)
class SpatialPad:
    """Bottom/right padding to a multiple of 16, remembered so the output can be cropped back."""

    height: int
    width: int
    pad_bottom: int
    pad_right: int

    @classmethod
    def for_size(cls, height: int, width: int, multiple: int = SPATIAL_MULTIPLE) -> SpatialPad:
        return cls(height, width, -height % multiple, -width % multiple)

    def apply(self, x: Tensor, mode: str = "replicate") -> Tensor:
        """Pad x [N, C, H, W]; reflect needs pad < size, so tiny frames fall back to replicate."""
        if not (self.pad_bottom or self.pad_right):
            return x
        if mode == "reflect" and (self.pad_bottom >= self.height or self.pad_right >= self.width):
            mode = "replicate"
        return F.pad(x, (0, self.pad_right, 0, self.pad_bottom), mode=mode)

    def crop(self, x: Tensor) -> Tensor:
        return x[..., : self.height, : self.width]
