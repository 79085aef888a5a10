"""The final encode: RGB frames with the source's exact pts, colour tags, rotation and aspect.

Pitfalls handled here (measured with PyAV 18): an RGB frame handed straight to a YUV encoder is
converted with BT.601 and left untagged, so frames are converted explicitly with the source's matrix
and range and the stream is tagged; frames get the source pts and time base so VFR survives; the
display matrix is written back because decoders do not rotate pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from seedvr.errors import ConfigError
from seedvr.video.avutil import reformatter
from seedvr.video.hdr import HdrMetadata
from seedvr.video.info import ColorInfo

CODECS = ("libx264", "libx265", "libsvtav1", "ffv1")
_SWS_OUT = {1: "itu709", 4: "fcc", 5: "itu601", 6: "smpte170m", 7: "smpte240m", 9: "bt2020", 10: "bt2020"}
_SVT_PRESETS = {"ultrafast": "12", "superfast": "11", "veryfast": "10", "faster": "9", "fast": "8",
                "medium": "6", "slow": "4", "slower": "3", "veryslow": "2"}
_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}

# Encoders that take 4:4:4 input, used for odd frame sizes that 4:2:0 cannot hold.
CODECS_WITH_444 = ("libx264", "libx265")


@dataclass(frozen=True)
class EncodeSettings:
    """Final-encode parameters. `ten_bit=None` follows the source (10-bit for >8-bit or HDR sources).

    `codec="ffv1"` is the lossless RGB mode (MKV only) used for exact round trips.
    """

    codec: str = "libx264"
    crf: int = 18
    preset: str = "medium"
    ten_bit: bool | None = None
    pix_fmt: str | None = None
    gop: int | None = None
    threads: int = 0
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise ConfigError(f"codec must be one of {CODECS}, got {self.codec!r}")
        hi = 63 if self.codec == "libsvtav1" else 51
        if not isinstance(self.crf, int) or not 0 <= self.crf <= hi:
            raise ConfigError(f"crf for {self.codec} must be an int in [0, {hi}], got {self.crf!r}")

    @classmethod
    def lossless(cls) -> EncodeSettings:
        return cls(codec="ffv1")

    @property
    def is_lossless(self) -> bool:
        return self.codec == "ffv1"

    def use_ten_bit(self, high_bit_depth: bool, hdr: bool) -> bool:
        return self.ten_bit if self.ten_bit is not None else (high_bit_depth or hdr)

    def resolved_pix_fmt(self, ten_bit: bool, odd_size: bool = False) -> str:
        """The encoder's pixel format. 4:2:0 needs even sides, so an odd-sized picture is encoded 4:4:4
        (High 4:4:4 in x264, Main 4:4:4 in x265) rather than cropped: every source pixel is kept."""
        if self.is_lossless:
            return "gbrp16le" if ten_bit else "bgr0"
        if self.pix_fmt:
            return self.pix_fmt
        if odd_size and self.codec in CODECS_WITH_444:
            return "yuv444p10le" if ten_bit else "yuv444p"
        return "yuv420p10le" if ten_bit else "yuv420p"

    def codec_options(self, hdr: HdrMetadata | None = None) -> dict[str, str]:
        """Encoder options; HDR10 static metadata goes into x265/SVT-AV1 private params."""
        opts: dict[str, str]
        if self.codec == "ffv1":
            opts = {"level": "3", "slicecrc": "1"}
        elif self.codec == "libsvtav1":
            opts = {"crf": str(self.crf), "preset": _SVT_PRESETS.get(self.preset, self.preset)}
        else:
            opts = {"crf": str(self.crf), "preset": self.preset}
            if self.codec == "libx265":
                opts["x265-params"] = ":".join(["log-level=error", *(hdr.x265_params() if hdr else [])])
        if self.codec == "libsvtav1" and hdr is not None and hdr.svtav1_params():
            opts["svtav1-params"] = ":".join(hdr.svtav1_params())
        opts.update(dict(self.options))
        return opts


def container_format(url: str, settings: EncodeSettings) -> str:
    """Muxer name from the output extension; FFV1 needs MKV."""
    ext = "." + url.rsplit(".", 1)[-1].lower() if "." in url.rsplit("/", 1)[-1] else ""
    fmt = _CONTAINERS.get(ext)
    if fmt is None:
        raise ConfigError(f"output {url!r}: unknown extension {ext!r}; use one of {sorted(_CONTAINERS)}")
    if settings.is_lossless and fmt != "matroska":
        raise ConfigError(f"output {url!r}: the lossless FFV1 mode needs an .mkv output")
    if settings.codec == "libx265" and fmt == "webm" or settings.codec == "libx264" and fmt == "webm":
        raise ConfigError(f"output {url!r}: WebM holds only VP8/VP9/AV1; use .mkv or .mp4 for {settings.codec}")
    return fmt


def output_sar(src_sar: tuple[int, int], src_size: tuple[int, int], out_size: tuple[int, int]) -> Fraction:
    """Sample aspect ratio that keeps the source's display aspect at a new (W, H)."""
    sw, sh = src_size
    ow, oh = out_size
    sar = Fraction(src_sar[0] or 1, src_sar[1] or 1) * Fraction(sw * oh, sh * ow)
    return sar.limit_denominator(65535)


class VideoWriter:
    """One output video stream in an open container; frames go in with explicit pts."""

    def __init__(
        self,
        container: av.container.OutputContainer,
        *,
        width: int,
        height: int,
        time_base: Fraction,
        settings: EncodeSettings,
        ten_bit: bool,
        color: ColorInfo,
        rotation: int = 0,
        sar: Fraction = Fraction(1, 1),
        rate: Fraction | None = None,
        hdr: HdrMetadata | None = None,
    ) -> None:
        self.settings = settings
        self.container = container
        self.ten_bit = ten_bit
        self.pix_fmt = settings.resolved_pix_fmt(ten_bit, odd_size=bool(width % 2 or height % 2))
        if not settings.is_lossless and self.pix_fmt.startswith(("yuv420", "nv12")) and (width % 2 or height % 2):
            raise ConfigError(
                f"{settings.codec} with {self.pix_fmt} needs an even frame size, got {width}x{height}; "
                "choose a target size with multiple=2, or a codec with 4:4:4 (libx264, libx265)"
            )
        rate = rate or Fraction(25)
        s = container.add_stream(settings.codec, rate=rate.limit_denominator(1001 * 1000),
                                 options=settings.codec_options(hdr if ten_bit else None))
        s.width, s.height, s.pix_fmt = width, height, self.pix_fmt
        s.time_base = time_base
        cc = s.codec_context
        cc.time_base = time_base
        cc.thread_type = "AUTO" if not settings.is_lossless else "SLICE"
        cc.thread_count = settings.threads
        if settings.gop:
            cc.gop_size = settings.gop
        if sar != 1:
            cc.sample_aspect_ratio = sar
        self.color = color
        if settings.is_lossless:
            cc.colorspace = 0  # RGB: no matrix applies
            cc.color_range = 2
        else:
            cc.colorspace = color.matrix
            cc.color_range = color.range
        cc.color_primaries = color.primaries
        cc.color_trc = color.transfer
        if rotation:
            s.set_display_rotation(rotation)
        self.stream = s
        self.time_base = time_base
        self._sws = (_SWS_OUT.get(color.matrix, "itu709"), "JPEG" if color.range == 2 else "MPEG")
        self._reformatter = reformatter("encode")
        self.frames = 0

    def _to_frame(self, arr: np.ndarray) -> av.VideoFrame:
        if self.settings.is_lossless:
            if arr.dtype == np.uint8:
                return self._reformatter.reformat(av.VideoFrame.from_ndarray(arr, format="rgb24"), format="bgr0")
            return av.VideoFrame.from_ndarray(arr, format="gbrp16le")
        src = av.VideoFrame.from_ndarray(arr, format="rgb24" if arr.dtype == np.uint8 else "rgb48le")
        matrix, rng = self._sws
        frame = self._reformatter.reformat(src, format=self.pix_fmt, dst_colorspace=matrix, dst_color_range=rng)
        frame.color_primaries = self.color.primaries
        frame.color_trc = self.color.transfer
        return frame

    def write(self, arr: np.ndarray, pts: int) -> None:
        """Encode one (H, W, 3) uint8/uint16 frame at the source timestamp `pts` (in `time_base`)."""
        frame = self._to_frame(np.ascontiguousarray(arr))
        frame.pts, frame.time_base = int(pts), self.time_base
        self.container.mux(self.stream.encode(frame))
        self.frames += 1

    def flush(self) -> None:
        self.container.mux(self.stream.encode(None))
