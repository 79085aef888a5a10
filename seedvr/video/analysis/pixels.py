"""Pixel shape: the sample aspect ratio (SAR) of the stored frames and the display aspect ratio (DAR).

DV and DVD store 720x480 or 720x576 frames of non-square pixels; restoring them as stored stretches the
picture. The container's SAR wins over the codec's (that is what players do), and a missing or 0:1 SAR
means square pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any


@dataclass(frozen=True)
class PixelShape:
    sar: Fraction
    width: int
    height: int

    @property
    def square(self) -> bool:
        return self.sar == 1

    @property
    def dar(self) -> Fraction:
        return self.sar * Fraction(self.width, self.height)

    def display_size(self) -> tuple[int, int]:
        """(width, height) in square pixels: the width is scaled, the lines are kept (even sides)."""
        w = round(self.width * self.sar / 2) * 2 if not self.square else self.width
        return max(2, w), self.height

    def to_dict(self) -> dict[str, Any]:
        return {"sar": f"{self.sar.numerator}:{self.sar.denominator}",
                "dar": f"{self.dar.numerator}:{self.dar.denominator}", "display_size": list(self.display_size())}


def _ratio(value: Any) -> Fraction | None:
    if value is None:
        return None
    try:
        r = Fraction(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return r if r > 0 else None


def pixel_shape(stream: Any) -> PixelShape:
    """From an opened PyAV video stream."""
    cc = stream.codec_context
    sar = _ratio(getattr(stream, "sample_aspect_ratio", None)) or _ratio(getattr(cc, "sample_aspect_ratio", None))
    return PixelShape(sar or Fraction(1), int(cc.width or stream.width), int(cc.height or stream.height))
