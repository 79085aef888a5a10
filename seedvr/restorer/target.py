"""Output-size policies: by pixel area (as the reference scripts), by short side, or by scale factor."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from seedvr.errors import ConfigError, InputError

TargetMode = Literal["area", "short_side", "scale"]


@dataclass(frozen=True)
class TargetSize:
    """How large the restored frames should be; the aspect ratio is always kept.

    - `area`: scale so that H*W is about `value` pixels (the reference's 1280x720 = 921,600 default);
      this can up- or down-scale.
    - `short_side`: the shorter side becomes `value` pixels.
    - `scale`: multiply both sides by `value`.

    `multiple` rounds each side to a multiple (2 suits yuv420 encoders); the model itself pads to 16
    internally, so any size works.
    """

    mode: TargetMode
    value: float
    multiple: int = 1

    def __post_init__(self) -> None:
        if self.mode not in ("area", "short_side", "scale"):
            raise ConfigError(f"TargetSize.mode must be 'area', 'short_side' or 'scale', got {self.mode!r}")
        if not (isinstance(self.value, (int, float)) and math.isfinite(self.value) and self.value > 0):
            raise ConfigError(f"TargetSize.value must be a positive finite number, got {self.value!r}")
        if not isinstance(self.multiple, int) or self.multiple < 1:
            raise ConfigError(f"TargetSize.multiple must be a positive int, got {self.multiple!r}")

    @classmethod
    def by_area(cls, max_area: int = 1280 * 720, *, multiple: int = 1) -> TargetSize:
        return cls("area", float(max_area), multiple)

    @classmethod
    def by_short_side(cls, pixels: int, *, multiple: int = 1) -> TargetSize:
        return cls("short_side", float(pixels), multiple)

    @classmethod
    def by_scale(cls, factor: float, *, multiple: int = 1) -> TargetSize:
        return cls("scale", float(factor), multiple)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Output (H, W) for an input of `height` x `width`."""
        if height < 1 or width < 1:
            raise InputError(f"input size must be positive, got {height}x{width}")
        if self.mode == "area":
            factor = math.sqrt(self.value / (height * width))
        elif self.mode == "short_side":
            factor = self.value / min(height, width)
        else:
            factor = self.value
        return self._round(height * factor), self._round(width * factor)

    def _round(self, side: float) -> int:
        m = self.multiple
        return max(m, int(round(side / m)) * m)
