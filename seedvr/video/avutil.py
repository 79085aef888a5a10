"""Small PyAV helpers shared by probe, decode and encode: error mapping, colour-matrix choice, bit depth,
pixel-format conversion contexts."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import av
from av.video.reformatter import VideoReformatter

from seedvr.errors import (
    CorruptVideoError,
    SeedVRError,
    TruncatedVideoError,
    UnsupportedCodecError,
    VideoTooLargeError,
)
from seedvr.video.info import ColorInfo
from seedvr.video.storage import map_storage_error, open_input

_REFORMATTERS = threading.local()


def reformatter(use: str) -> VideoReformatter:
    """This thread's swscale context for one kind of conversion ("decode", "encode", ...).

    `VideoFrame.reformat` and `to_ndarray(format=...)` build a context for every frame: about 1 ms at any
    size, and 40 % of a 720p conversion. A context kept per thread and per use is rebuilt only when the
    size or formats change, so short segments of one video share it too.
    """
    cache = getattr(_REFORMATTERS, "by_use", None)
    if cache is None:
        cache = _REFORMATTERS.by_use = {}
    if use not in cache:
        cache[use] = VideoReformatter()
    return cache[use]

# AVColorSpace -> swscale colour-matrix name accepted by VideoFrame.reformat / to_ndarray.
_SWS_MATRIX = {1: "itu709", 4: "fcc", 5: "itu601", 6: "smpte170m", 7: "smpte240m", 9: "bt2020", 10: "bt2020"}
_RGB_FORMATS = ("rgb", "bgr", "gbr", "argb", "abgr", "rgba", "bgra", "0rgb", "rgb0", "0bgr", "bgr0")


def map_av_error(exc: BaseException, url: str, *, stage: str = "open") -> SeedVRError:
    """Translate a PyAV/FFmpeg exception into the project's taxonomy with a message naming the file and the fix."""
    if isinstance(exc, SeedVRError):
        return exc
    if isinstance(exc, (FileNotFoundError, PermissionError)):
        return map_storage_error(exc, url)
    if isinstance(exc, av.error.DecoderNotFoundError):
        return UnsupportedCodecError(f"{url}: no decoder for this codec ({exc}); transcode it to H.264/HEVC/AV1 first")
    if isinstance(exc, MemoryError):
        return VideoTooLargeError(f"{url}: ran out of memory while {stage} ({exc}); the frames are too large")
    text = str(exc)
    if "moov atom not found" in text or isinstance(exc, EOFError):
        return TruncatedVideoError(
            f"{url}: the file ends early ({text}) while {stage}; the upload or copy was cut short: re-upload it"
        )
    return CorruptVideoError(
        f"{url}: FFmpeg could not read the file while {stage} ({type(exc).__name__}: {text}); "
        "it is not a valid video or is damaged: re-encode or re-upload it"
    )


@contextlib.contextmanager
def open_video(url: str, **kwargs: Any) -> Iterator[av.container.InputContainer]:
    """`av.open` for any fsspec URL with errors mapped."""
    with open_input(url) as src:
        try:
            container = av.open(src, "r", **kwargs)
        except Exception as exc:  # noqa: BLE001
            raise map_av_error(exc, url) from exc
        try:
            yield container
        finally:
            container.close()


def is_rgb_format(pix_fmt: str) -> bool:
    return pix_fmt.startswith(_RGB_FORMATS)


def bit_depth_of(pix_fmt: str) -> int:
    """Bits per component of a pixel format (8 for yuv420p, 10 for yuv420p10le, 16 for gbrp16le)."""
    try:
        fmt = av.VideoFormat(pix_fmt)
        return max(c.bits for c in fmt.components)
    except Exception:  # noqa: BLE001 - unknown formats are treated as 8-bit
        return 8


def source_matrix(color: ColorInfo, height: int) -> str:
    """The matrix used to convert YUV to RGB: the tagged one, else BT.709 for HD and BT.601 for SD.

    Untagged input would otherwise be decoded as BT.601 by swscale, shifting colours of HD sources.
    """
    if color.matrix in _SWS_MATRIX:
        return _SWS_MATRIX[color.matrix]
    return "itu709" if height >= 720 else "itu601"


def source_range(color: ColorInfo, pix_fmt: str) -> str:
    """'JPEG' (full) or 'MPEG' (limited); untagged is limited unless the pixel format is a yuvj one."""
    if color.range == 2 or pix_fmt.startswith("yuvj"):
        return "JPEG"
    return "MPEG"


def resolved_color(color: ColorInfo, height: int, pix_fmt: str) -> ColorInfo:
    """Colour tags to write on the output: the matrix and range actually used to decode, never 'unspecified'."""
    matrix = color.matrix if color.matrix in _SWS_MATRIX else (1 if height >= 720 else 6)
    rng = 2 if source_range(color, pix_fmt) == "JPEG" else 1
    default_prim = 1 if matrix == 1 else (9 if matrix in (9, 10) else 6)
    primaries = color.primaries if color.primaries not in (0, 2) else default_prim
    transfer = color.transfer if color.transfer not in (0, 2) else (14 if matrix in (9, 10) else 1)
    return ColorInfo(matrix=matrix, range=rng, primaries=primaries, transfer=transfer)
