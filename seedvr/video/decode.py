"""Exact frame-range decoding: frames `[start, stop)` of the probe's frame table, as RGB numpy arrays.

Seeking: jump to the keyframe at or before the first wanted frame (`backward=True`), decode forward
and drop earlier frames; `any_frame=True` would land on the *next* keyframe. Each decoded frame is
matched against the expected pts, so a wrong seek or a missing frame is an error, never a silent shift.
Frames stay in coded orientation; rotation is metadata that the encoder writes back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np

from seedvr.errors import (
    BadTimestampsError,
    ConfigError,
    CorruptVideoError,
    InputError,
    TruncatedVideoError,
    VideoTooLargeError,
)
from seedvr.video.avutil import (
    is_rgb_format,
    map_av_error,
    open_video,
    reformatter,
    source_matrix,
    source_range,
)
from seedvr.video.info import VideoInfo
from seedvr.video.remux import ensure_decodable


def frame_dtype(info: VideoInfo) -> np.dtype:
    """uint8 for 8-bit sources, uint16 (full 16-bit scale) above."""
    return np.dtype(np.uint16 if info.high_bit_depth else np.uint8)


def rgb_format(info: VideoInfo) -> str:
    return "rgb48le" if info.high_bit_depth else "rgb24"


def _check_range(start: int, stop: int, info: VideoInfo) -> None:
    n = info.num_frames
    if not (isinstance(start, int) and isinstance(stop, int)) or not 0 <= start < stop <= n:
        raise InputError(f"frame range [{start}, {stop}) is outside the video's {n} frames ({info.url}); "
                         f"use 0 <= start < stop <= {n}")


def _resolve_url(url: str, info: VideoInfo) -> str:
    """Remuxed sources decode from the MKV copy the probe made (re-made here if this machine lacks it)."""
    return ensure_decodable(info) if url in (info.url, info.decode_url) else url


def iter_frames(url: str, start: int, stop: int, info: VideoInfo, *, threads: int = 0) -> Iterator[np.ndarray]:
    """Yield frames `start..stop-1` one at a time (H, W, 3), so callers can stream long ranges."""
    for view in iter_frame_views(url, start, stop, info, threads=threads):
        yield view.copy()


def iter_frame_views(url: str, start: int, stop: int, info: VideoInfo, *, threads: int = 0) -> Iterator[np.ndarray]:
    """Like `iter_frames`, but each array may be a view into a decoder buffer valid until the next one."""
    _check_range(start, stop, info)
    src = _resolve_url(url, info)
    expected = info.pts[start:stop]
    to_rgb = _converter(info)
    with open_video(src) as c:
        v = c.streams.video[0]
        if info.stream_index < len(c.streams) and c.streams[info.stream_index].type == "video":
            v = c.streams[info.stream_index]
        v.thread_type = "AUTO"
        v.thread_count = threads
        i = 0
        for attempt in range(2):
            # Seek unless the range starts at frame 0; retry from the very start if the seek overshot
            # (a demuxer whose seek lands after the target, as on MPEG-TS).
            try:
                if start > 0 and attempt == 0:
                    c.seek(expected[0], stream=v, backward=True, any_frame=False)
                elif attempt == 1:
                    c.seek(info.pts[0], stream=v, backward=True, any_frame=False)
                for frame in c.decode(v):
                    if frame.pts is None:
                        raise BadTimestampsError(f"{info.url}: a decoded frame has no timestamp; remux the file")
                    if frame.pts < expected[i]:
                        continue
                    if frame.pts > expected[i]:
                        if i == 0 and attempt == 0:
                            break  # overshot: retry from the start
                        raise CorruptVideoError(
                            f"{info.url}: frame {start + i} (pts {expected[i]}) could not be decoded "
                            f"(next decodable pts {frame.pts}); the stream is damaged: re-encode it"
                        )
                    if (frame.width, frame.height) != (info.width, info.height):
                        # Checked before conversion: the scaler would fail with a bare "returned 22".
                        raise CorruptVideoError(
                            f"{info.url}: frame size changed mid-stream to {frame.width}x{frame.height} at frame "
                            f"{start + i} (probed {info.width}x{info.height}); re-encode the file at one size"
                        )
                    yield to_rgb(frame)
                    i += 1
                    if i == len(expected):
                        return
            except (BadTimestampsError, CorruptVideoError):
                raise
            except Exception as exc:  # noqa: BLE001
                raise map_av_error(exc, info.url, stage=f"decoding frames {start}-{stop - 1}") from exc
            if i > 0:
                break
    raise TruncatedVideoError(
        f"{info.url}: the stream ended after {start + i} of the {stop} frames requested; the file is cut "
        "short or changed since it was probed: re-probe or re-upload it"
    )


def read_frames(url: str, start: int, stop: int, info: VideoInfo, *, threads: int = 0) -> np.ndarray:
    """Frames `[start, stop)` as one (T, H, W, 3) array: uint8, or uint16 for sources above 8 bits."""
    _check_range(start, stop, info)
    out = np.empty((stop - start, info.height, info.width, 3), dtype=frame_dtype(info))
    _fill(out, url, start, stop, info, threads)
    return out


def window_bytes(info: VideoInfo, frames: int) -> int:
    """Bytes of a decoded window of `frames` RGB frames at the source's size and bit depth."""
    return frames * info.height * info.width * 3 * frame_dtype(info).itemsize


def check_window_budget(info: VideoInfo, frames: int, budget_mb: float) -> None:
    """Admission by memory, before anything is decoded: a header may declare any size."""
    need = window_bytes(info, frames)
    if need > budget_mb * 2**20:
        raise VideoTooLargeError(
            f"{info.url}: a window of {frames} frames at {info.width}x{info.height} needs {need / 2**20:,.0f} MB, "
            f"over the decode budget of {budget_mb:,.0f} MB; use shorter segments (--segment-frames) or raise "
            "execution.decode_window_mb"
        )


@dataclass(frozen=True)
class DecodeLimits:
    """Bounds on decoding one window of untrusted media: wall time, the window's own bytes (admission,
    checked before decoding) and the worker's whole address space (enforced by the kernel)."""

    timeout_s: float = 300.0
    window_mb: float = 2048.0
    memory_mb: int = 4096

    def __post_init__(self) -> None:
        if self.memory_mb and self.memory_mb < self.window_mb + 512:
            raise ConfigError(
                f"decode memory cap {self.memory_mb} MB must exceed the window budget {self.window_mb:g} MB by "
                "at least 512 MB (the decoder's own buffers); raise execution.decode_max_memory_mb"
            )


def read_frames_isolated(url: str, start: int, stop: int, info: VideoInfo, limits: DecodeLimits, *,
                         threads: int = 1) -> np.ndarray:
    """`read_frames` in a sandboxed worker (see `sandbox`): a crash, hang or runaway allocation of the
    decoder becomes an error for this window, never the death of the caller."""
    from seedvr.video.sandbox import pool_for
    from seedvr.video.storage import check_regular_file

    _check_range(start, stop, info)
    check_window_budget(info, stop - start, limits.window_mb)
    check_regular_file(url)
    shape = (stop - start, info.height, info.width, 3)
    return pool_for(limits.memory_mb).call(_fill, url, start, stop, info, threads, what=info.url,
                                           timeout_s=limits.timeout_s, out_shape=shape, out_dtype=frame_dtype(info))


def _fill(out: np.ndarray, url: str, start: int, stop: int, info: VideoInfo, threads: int) -> None:
    n = 0
    for n, frame in enumerate(iter_frame_views(url, start, stop, info, threads=threads), start=1):
        out[n - 1] = frame
    assert n == out.shape[0]


def _converter(info: VideoInfo):  # noqa: ANN202 - a closure over the source's colour decisions
    """Frame -> RGB array using the source's matrix and range (untagged HD as BT.709, SD as BT.601)."""
    fmt = rgb_format(info)
    sws = reformatter("decode")
    if is_rgb_format(info.pix_fmt):
        def convert(frame: av.VideoFrame) -> np.ndarray:
            return sws.reformat(frame, format=fmt).to_ndarray()
        return convert
    matrix = source_matrix(info.color, info.height)
    rng = source_range(info.color, info.pix_fmt)

    def convert_yuv(frame: av.VideoFrame) -> np.ndarray:
        # May be a view into the frame's buffer: `iter_frames` copies, `read_frames` copies into its array.
        return sws.reformat(frame, format=fmt, src_colorspace=matrix, src_color_range=rng).to_ndarray()

    return convert_yuv
