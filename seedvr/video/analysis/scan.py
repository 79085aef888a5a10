"""Scan type from the pictures and the flags: progressive, interlaced (with its field order) or telecined.

Flags lie in real archives in both directions (progressive transfers flagged interlaced, interlaced
captures flagged progressive), so the verdict comes from FFmpeg's `idet` filter over runs of consecutive
frames; the flags are only recorded beside it:

- telecined: 3:2 pulldown repeats a field in two of every five frames, on a fixed cadence (idet's
  repeated-field detector), whatever the combing looks like;
- interlaced: most decided frames are combed (idet's single-frame detector), field order by majority;
- progressive otherwise, and when too few frames could be decided (flat or static pictures).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ScanKind = Literal["progressive", "interlaced", "telecined"]

# Of the frames idet decided: this share combed makes the video interlaced.
INTERLACED_SHARE = 0.6
# Frames with a repeated field: 2 in 5 for 3:2 pulldown; at least this share, on a period-5 cadence.
REPEAT_SHARE = 0.25
CADENCE_SHARE = 0.8
MIN_DECIDED = 10

# AVFieldOrder values as PyAV reports them.
FIELD_ORDERS = {0: "unknown", 1: "progressive", 2: "tff", 3: "bff", 4: "tb", 5: "bt"}


@dataclass(frozen=True)
class ScanType:
    kind: ScanKind
    field_order: Literal["tff", "bff"] | None = None
    flagged: str = "unknown"  # what the stream says: progressive, tff, bff, ... or unknown
    frames: int = 0  # frames idet looked at
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "field_order": self.field_order, "flagged": self.flagged, "frames": self.frames,
                "counts": dict(self.counts)}


def flagged_order(stream: Any, first_frame: Any | None) -> str:
    """What the container/codec and the first frame claim."""
    order = FIELD_ORDERS.get(int(getattr(stream.codec_context, "field_order", 0) or 0), "unknown")
    if order in ("unknown", "progressive") and first_frame is not None and getattr(first_frame, "interlaced_frame",
                                                                                  False):
        return "interlaced"
    return order


def classify(frames: Sequence[dict[str, str]], flagged: str = "unknown") -> ScanType:
    """The verdict from idet's per-frame metadata (`lavfi.idet.single.current_frame`,
    `lavfi.idet.repeated.current_frame`) in display order; runs may be concatenated."""
    single = Counter(m.get("lavfi.idet.single.current_frame", "undetermined") for m in frames)
    repeats = [i for i, m in enumerate(frames) if m.get("lavfi.idet.repeated.current_frame", "neither") != "neither"]
    counts = {"tff": single["tff"], "bff": single["bff"], "progressive": single["progressive"],
              "undetermined": single["undetermined"], "repeated": len(repeats)}
    n = len(frames)
    decided = counts["tff"] + counts["bff"] + counts["progressive"]
    if n >= MIN_DECIDED and len(repeats) >= REPEAT_SHARE * n:
        cadence = Counter(i % 5 for i in repeats).most_common(2)
        if sum(c for _, c in cadence) >= CADENCE_SHARE * len(repeats):
            order = "tff" if counts["tff"] >= counts["bff"] else "bff"
            return ScanType("telecined", order, flagged, n, counts)
    if decided >= MIN_DECIDED and counts["tff"] + counts["bff"] >= INTERLACED_SHARE * decided:
        return ScanType("interlaced", "tff" if counts["tff"] >= counts["bff"] else "bff", flagged, n, counts)
    return ScanType("progressive", None, flagged, n, counts)
