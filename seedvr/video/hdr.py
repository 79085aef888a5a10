"""HDR10 static metadata (mastering display colour volume, content light level): read and re-emit.

Decoders expose it as frame side data; encoders take it as private parameters. Without it a
restored HDR10 file still carries PQ/HLG tags, but displays lose the grading monitor's volume and
tone-map differently than the source.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

_MDM_RATIONALS = struct.Struct("<20i2i")
_CLL = struct.Struct("<2I")


@dataclass(frozen=True)
class HdrMetadata:
    """Chromaticities (CIE 1931 x, y) of R, G, B and white; luminance in cd/m²; light levels in cd/m²."""

    primaries: tuple[float, ...] | None = None  # (Rx, Ry, Gx, Gy, Bx, By, WPx, WPy)
    luminance: tuple[float, float] | None = None  # (min, max)
    max_cll: int | None = None
    max_fall: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"primaries": list(self.primaries) if self.primaries else None,
                "luminance": list(self.luminance) if self.luminance else None,
                "max_cll": self.max_cll, "max_fall": self.max_fall}

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> HdrMetadata | None:
        if not d:
            return None
        return cls(primaries=tuple(d["primaries"]) if d.get("primaries") else None,
                   luminance=tuple(d["luminance"]) if d.get("luminance") else None,  # type: ignore[arg-type]
                   max_cll=d.get("max_cll"), max_fall=d.get("max_fall"))

    # ---------------------------------------------------------------------------- encoder params
    def x265_params(self) -> list[str]:
        """`master-display=G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)` (0.00002 and 0.0001 cd/m² units), `max-cll`."""
        out = []
        if self.primaries and self.luminance:
            rx, ry, gx, gy, bx, by, wx, wy = (round(v * 50000) for v in self.primaries)
            lo, hi = (round(v * 10000) for v in self.luminance)
            out.append(f"master-display=G({gx},{gy})B({bx},{by})R({rx},{ry})WP({wx},{wy})L({hi},{lo})")
        if self.max_cll is not None:
            out.append(f"max-cll={self.max_cll},{self.max_fall or 0}")
        return out

    def svtav1_params(self) -> list[str]:
        out = []
        if self.primaries and self.luminance:
            rx, ry, gx, gy, bx, by, wx, wy = self.primaries
            lo, hi = self.luminance
            out.append(f"mastering-display=G({gx:.4f},{gy:.4f})B({bx:.4f},{by:.4f})R({rx:.4f},{ry:.4f})"
                       f"WP({wx:.4f},{wy:.4f})L({hi:.4f},{lo:.4f})")
        if self.max_cll is not None:
            out.append(f"content-light={self.max_cll},{self.max_fall or 0}")
        return out


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def hdr_from_frame(frame: Any) -> HdrMetadata | None:
    """Parse MASTERING_DISPLAY_METADATA and CONTENT_LIGHT_LEVEL side data of a decoded frame."""
    primaries = luminance = None
    max_cll = max_fall = None
    for sd in getattr(frame, "side_data", ()) or ():
        name = getattr(sd.type, "name", str(sd.type))
        raw = bytes(sd)
        if name == "MASTERING_DISPLAY_METADATA" and len(raw) >= _MDM_RATIONALS.size:
            v = _MDM_RATIONALS.unpack_from(raw)
            r = [_ratio(v[i], v[i + 1]) for i in range(0, 20, 2)]
            has_primaries, has_luminance = v[20], v[21]
            if has_primaries:
                primaries = tuple(round(x, 5) for x in r[0:8])
            if has_luminance:
                luminance = (round(r[8], 5), round(r[9], 5))
        elif name == "CONTENT_LIGHT_LEVEL" and len(raw) >= _CLL.size:
            max_cll, max_fall = _CLL.unpack_from(raw)
    if primaries is None and luminance is None and max_cll is None:
        return None
    return HdrMetadata(primaries=primaries, luminance=luminance, max_cll=max_cll, max_fall=max_fall)
