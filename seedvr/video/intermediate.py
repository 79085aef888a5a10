"""Lossless segment intermediates: FFV1 in MKV, RGB 8-bit (bgr0) or 16-bit (gbrp16le), checksummed.

A restored segment is written once by a GPU task and read once by the stitcher. FFV1 is lossless and
several times smaller than raw arrays; the sha256 stored with the segment row lets the stitcher
detect a damaged or stale object. Keys are deterministic so a retried task overwrites, never duplicates.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from seedvr.errors import CorruptVideoError, InputError
from seedvr.video.avutil import map_av_error
from seedvr.video.storage import atomic_write, join_url, local_copy, sanitize_key_component, sha256_file

_TB = Fraction(1, 25)


@dataclass(frozen=True)
class SegmentFile:
    """Where a segment was written and what it holds."""

    url: str
    sha256: str
    num_frames: int
    width: int
    height: int
    dtype: str
    size_bytes: int


def segment_key(root: str, video_id: str, config_hash: str, index: int) -> str:
    """`<root>/<video_id>/<config_hash>/seg-<index:05d>.mkv` with every catalog-derived part sanitised."""
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise InputError(f"segment index must be a non-negative int, got {index!r}")
    return join_url(root, sanitize_key_component(video_id), sanitize_key_component(config_hash),
                    f"seg-{index:05d}.mkv")


def _frame_of(arr: np.ndarray) -> av.VideoFrame:
    if arr.dtype == np.uint8:
        return av.VideoFrame.from_ndarray(arr, format="rgb24").reformat(format="bgr0")
    return av.VideoFrame.from_ndarray(arr, format="gbrp16le")


def write_segment(url: str, frames: np.ndarray | Iterable[np.ndarray], *,
                  metadata: Mapping[str, object] | None = None, threads: int = 0) -> SegmentFile:
    """Encode frames ((T,H,W,3) uint8/uint16, or an iterable of (H,W,3)) losslessly to `url`, atomically."""
    n = 0
    shape: tuple[int, ...] | None = None
    dtype: np.dtype | None = None
    with atomic_write(url, suffix=".mkv") as tmp:
        out = av.open(tmp, "w", format="matroska")
        try:
            for key, value in (metadata or {}).items():
                out.metadata[str(key)] = str(value)
            stream = None
            for arr in frames:
                arr = np.asarray(arr)
                if shape is None:
                    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype not in (np.uint8, np.uint16):
                        raise InputError(f"segment frames must be (H, W, 3) uint8 or uint16, got "
                                         f"{arr.shape} {arr.dtype}")
                    shape, dtype = arr.shape, arr.dtype
                    stream = out.add_stream("ffv1", rate=25, options={"level": "3", "slicecrc": "1"})
                    stream.width, stream.height = arr.shape[1], arr.shape[0]
                    stream.pix_fmt = "bgr0" if dtype == np.uint8 else "gbrp16le"
                    stream.codec_context.thread_count = threads
                    stream.codec_context.thread_type = "SLICE"
                elif arr.shape != shape or arr.dtype != dtype:
                    raise InputError(f"segment frame {n} is {arr.shape} {arr.dtype}, expected {shape} {dtype}")
                frame = _frame_of(np.ascontiguousarray(arr))
                frame.pts, frame.time_base = n, _TB
                out.mux(stream.encode(frame))
                n += 1
            if stream is None:
                raise InputError(f"{url}: a segment needs at least one frame")
            out.mux(stream.encode(None))
        finally:
            out.close()
        digest = sha256_file(tmp)
        size = os.path.getsize(tmp)
    assert shape is not None and dtype is not None
    return SegmentFile(url=url, sha256=digest, num_frames=n, width=shape[1], height=shape[0],
                       dtype=str(dtype), size_bytes=size)


def iter_segment(url: str, *, sha256: str | None = None) -> Iterator[np.ndarray]:
    """Yield the frames of a segment file one by one; verify the checksum first when given."""
    with local_copy(url) as path:
        if sha256 is not None:
            actual = sha256_file(path)
            if actual != sha256:
                raise CorruptVideoError(
                    f"{url}: segment checksum mismatch (expected {sha256[:12]}…, found {actual[:12]}…); "
                    "the object was damaged or overwritten: re-run the segment"
                )
        try:
            container = av.open(path, "r")
        except Exception as exc:  # noqa: BLE001
            raise map_av_error(exc, url) from exc
        try:
            stream = container.streams.video[0]
            sixteen = stream.codec_context.pix_fmt not in ("bgr0", "rgb24", "bgra")
            fmt = "rgb48le" if sixteen else "rgb24"
            for frame in container.decode(stream):
                yield frame.to_ndarray(format=fmt).copy()
        except Exception as exc:  # noqa: BLE001
            raise map_av_error(exc, url, stage="decoding a segment") from exc
        finally:
            container.close()


def read_segment(url: str, *, sha256: str | None = None) -> np.ndarray:
    """All frames of a segment as (T, H, W, 3)."""
    frames = list(iter_segment(url, sha256=sha256))
    if not frames:
        raise CorruptVideoError(f"{url}: the segment holds no frames; re-run the segment")
    return np.stack(frames)
