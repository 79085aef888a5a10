"""What a probe learns about a video, as frozen, JSON-safe records (they are stored in a Delta table).

Timestamps are kept as integer pts plus a rational time base, never as float seconds, so that the
stitched output can carry the source's exact timestamps (VFR included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from seedvr.errors import VideoTooLargeError
from seedvr.video.hdr import HdrMetadata

# FFmpeg enum values (AVColorSpace, AVColorRange, AVColorPrimaries, AVColorTransferCharacteristic).
MATRIX_NAMES = {0: "rgb", 1: "bt709", 2: "unknown", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
                9: "bt2020nc", 10: "bt2020c"}
RANGE_NAMES = {0: "unknown", 1: "tv", 2: "pc"}
PRIMARIES_NAMES = {1: "bt709", 2: "unknown", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
                   9: "bt2020", 11: "smpte431", 12: "smpte432"}
TRANSFER_NAMES = {1: "bt709", 2: "unknown", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m",
                  8: "linear", 13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084",
                  18: "arib-std-b67"}
HDR_TRANSFERS = (16, 18)

# Far above 8K (7680x4320 = 33 Mpx) yet small enough that one RGB48 frame stays below ~1 GiB.
MAX_SIDE = 16384
MAX_PIXELS = 7680 * 4320 * 4


@dataclass(frozen=True)
class ColorInfo:
    """Colour tags as FFmpeg enum ints (2 / 0 mean unspecified)."""

    matrix: int = 2
    range: int = 0
    primaries: int = 2
    transfer: int = 2

    @property
    def is_hdr(self) -> bool:
        return self.transfer in HDR_TRANSFERS

    def names(self) -> dict[str, str]:
        return {
            "matrix": MATRIX_NAMES.get(self.matrix, str(self.matrix)),
            "range": RANGE_NAMES.get(self.range, str(self.range)),
            "primaries": PRIMARIES_NAMES.get(self.primaries, str(self.primaries)),
            "transfer": TRANSFER_NAMES.get(self.transfer, str(self.transfer)),
        }


@dataclass(frozen=True)
class StreamInfo:
    """An audio or subtitle stream that the stitcher copies packet for packet."""

    index: int
    kind: str  # "audio" | "subtitle"
    codec: str
    language: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    packets: int | None = None


@dataclass(frozen=True)
class VideoInfo:
    """Everything the planner, decoder and stitcher need about one source video.

    `pts` lists every frame's presentation timestamp in presentation order (frame i is `pts[i]`),
    taken from a demux-only pass; `len(pts)` is the exact frame count. `decode_url` differs from
    `url` when the source had to be remuxed (MPEG-TS, raw .h264/.hevc) to seek exactly.
    """

    url: str
    decode_url: str
    container: str
    codec: str
    pix_fmt: str
    bit_depth: int
    width: int
    height: int
    time_base: Fraction
    pts: tuple[int, ...]
    stream_index: int = 0
    sar: tuple[int, int] = (1, 1)
    rotation: int = 0
    color: ColorInfo = field(default_factory=ColorInfo)
    vfr: bool = False
    audio: tuple[StreamInfo, ...] = ()
    subtitles: tuple[StreamInfo, ...] = ()
    size_bytes: int = 0
    remuxed: bool = False
    hdr_metadata: HdrMetadata | None = None
    remux_rate: tuple[int, int] | None = None  # frame rate assumed for a raw elementary stream

    # ----------------------------------------------------------------------------- derived values
    @property
    def num_frames(self) -> int:
        return len(self.pts)

    @property
    def frame_duration_pts(self) -> int:
        """Median pts step (the nominal frame duration), 1 for single-frame videos."""
        if len(self.pts) < 2:
            return 1
        deltas = sorted(b - a for a, b in zip(self.pts[:-1], self.pts[1:], strict=True))
        return max(1, deltas[len(deltas) // 2])

    @property
    def duration_s(self) -> float:
        if not self.pts:
            return 0.0
        span = self.pts[-1] - self.pts[0] + self.frame_duration_pts
        return float(span * self.time_base)

    @property
    def fps(self) -> float:
        """Average frame rate (frames / duration); for VFR this is only a summary."""
        d = self.duration_s
        return self.num_frames / d if d > 0 else 0.0

    @property
    def is_hdr(self) -> bool:
        return self.color.is_hdr

    @property
    def high_bit_depth(self) -> bool:
        return self.bit_depth > 8

    def time_of(self, frame: int) -> Fraction:
        """Presentation time of a frame in seconds, exact."""
        return self.pts[frame] * self.time_base

    # ------------------------------------------------------------------------------- (de)serialise
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; `pts` is a plain list of ints and `time_base` a [num, den] pair."""
        return {
            "url": self.url,
            "decode_url": self.decode_url,
            "container": self.container,
            "codec": self.codec,
            "pix_fmt": self.pix_fmt,
            "bit_depth": self.bit_depth,
            "width": self.width,
            "height": self.height,
            "time_base": [self.time_base.numerator, self.time_base.denominator],
            "pts": list(self.pts),
            "stream_index": self.stream_index,
            "sar": list(self.sar),
            "rotation": self.rotation,
            "color": {"matrix": self.color.matrix, "range": self.color.range,
                      "primaries": self.color.primaries, "transfer": self.color.transfer},
            "vfr": self.vfr,
            "audio": [s.__dict__.copy() for s in self.audio],
            "subtitles": [s.__dict__.copy() for s in self.subtitles],
            "size_bytes": self.size_bytes,
            "remuxed": self.remuxed,
            "hdr_metadata": self.hdr_metadata.to_dict() if self.hdr_metadata else None,
            "remux_rate": list(self.remux_rate) if self.remux_rate else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VideoInfo:
        tb = d["time_base"]
        return cls(
            url=d["url"],
            decode_url=d["decode_url"],
            container=d["container"],
            codec=d["codec"],
            pix_fmt=d["pix_fmt"],
            bit_depth=int(d["bit_depth"]),
            width=int(d["width"]),
            height=int(d["height"]),
            time_base=Fraction(int(tb[0]), int(tb[1])),
            pts=tuple(int(p) for p in d["pts"]),
            stream_index=int(d.get("stream_index", 0)),
            sar=(int(d["sar"][0]), int(d["sar"][1])),
            rotation=int(d.get("rotation", 0)),
            color=ColorInfo(**d.get("color", {})),
            vfr=bool(d.get("vfr", False)),
            audio=tuple(StreamInfo(**s) for s in d.get("audio", ())),
            subtitles=tuple(StreamInfo(**s) for s in d.get("subtitles", ())),
            size_bytes=int(d.get("size_bytes", 0)),
            remuxed=bool(d.get("remuxed", False)),
            hdr_metadata=HdrMetadata.from_dict(d.get("hdr_metadata")),
            remux_rate=(int(d["remux_rate"][0]), int(d["remux_rate"][1])) if d.get("remux_rate") else None,
        )

    def summary(self) -> dict[str, Any]:
        """A small dict for logs and table columns (no per-frame lists)."""
        return {
            "url": self.url,
            "container": self.container,
            "codec": self.codec,
            "pix_fmt": self.pix_fmt,
            "bit_depth": self.bit_depth,
            "width": self.width,
            "height": self.height,
            "sar": f"{self.sar[0]}:{self.sar[1]}",
            "rotation": self.rotation,
            "num_frames": self.num_frames,
            "duration_s": round(self.duration_s, 6),
            "fps": round(self.fps, 6),
            "vfr": self.vfr,
            "hdr": self.is_hdr,
            **{f"color_{k}": v for k, v in self.color.names().items()},
            "audio_streams": len(self.audio),
            "subtitle_streams": len(self.subtitles),
            "remuxed": self.remuxed,
        }


def detect_vfr(pts: tuple[int, ...] | list[int]) -> bool:
    """True when frame durations vary by more than rounding (1 tick or 1 % of the median)."""
    if len(pts) < 3:
        return False
    deltas = sorted(b - a for a, b in zip(pts[:-1], pts[1:], strict=True))
    median = deltas[len(deltas) // 2]
    tol = max(1, median // 100)
    return deltas[0] < median - tol or deltas[-1] > median + tol


def check_dimensions(width: int, height: int, url: str, *, max_side: int = MAX_SIDE,
                     max_pixels: int = MAX_PIXELS) -> None:
    """Refuse absurd header sizes before any frame is decoded (a hostile header must not allocate GiBs)."""
    if width <= 0 or height <= 0:
        raise VideoTooLargeError(f"{url}: invalid frame size {width}x{height} in the header; the file is damaged")
    if width > max_side or height > max_side or width * height > max_pixels:
        raise VideoTooLargeError(
            f"{url}: frame size {width}x{height} exceeds the limit ({max_side} px per side, "
            f"{max_pixels} px per frame); downscale the source first or raise the limit deliberately"
        )
