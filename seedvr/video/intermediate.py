"""Lossless segment intermediates in RGB, checksummed, in NUT (any codec) or MKV (FFV1 only).

A restored segment is written once by a GPU task and read once by the stitcher. Every codec here is
lossless on RGB; they trade CPU for bytes. Measured at 720p on 2 cores, write + read per frame:

    rawvideo  2.6 ms, 2.76 MB   (local scratch: the fastest; 3x the bytes)
    utvideo  17 ms,   0.99 MB   (object stores: the default, bytes cost more than CPU there)
    ffv1     37 ms,   0.66 MB   (the smallest; archival)

16-bit frames use FFV1 gbrp16le unless rawvideo is chosen (UT Video has no 16-bit mode). The
sha256 stored with the segment row lets the stitcher detect a damaged or stale object; keys are
deterministic, so a retried task overwrites, never duplicates. The digest is taken while the file is
written, and checked while it is decoded (seedvr.video.digest): one hash pass per write and per read.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from seedvr.errors import ConfigError, CorruptVideoError, InputError
from seedvr.video.avutil import bit_depth_of, map_av_error, reformatter
from seedvr.video.digest import HashingReader, HashingWriter
from seedvr.video.storage import atomic_write, join_url, local_copy, sanitize_key_component

_TB = Fraction(1, 25)
DEFAULT_CODEC = "utvideo"
# Local paths that are object stores underneath (Databricks' FUSE mounts): bytes cost there as on S3.
_MOUNTED_STORES = ("/dbfs/", "/Volumes/")
# codec -> (8-bit pixel format, 16-bit pixel format or None)
_CODECS = {"utvideo": ("gbrp", None), "ffv1": ("bgr0", "gbrp16le"), "rawvideo": ("rgb24", "rgb48le")}
INTERMEDIATE_CODECS = tuple(_CODECS)
_CONTAINERS = {".nut": "nut", ".mkv": "matroska"}
# The muxer's and demuxer's I/O buffer: a 720p RGB frame is 2.8 MB, so 32 KB (FFmpeg's) means ~85 calls.
_IO_BUFFER = 1 << 20


@dataclass(frozen=True)
class SegmentFile:
    """Where a segment was written and what it holds."""

    url: str
    sha256: str | None  # None when written with digest=False (a scratch file checked by size)
    num_frames: int
    width: int
    height: int
    dtype: str
    size_bytes: int


def segment_key(root: str, video_id: str, config_hash: str, index: int, *, ext: str = "nut") -> str:
    """`<root>/<video_id>/<config_hash>/seg-<index:05d>.<ext>` with every catalog-derived part sanitised.

    `ext` "nut" suits every codec; "mkv" holds FFV1 only.
    """
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise InputError(f"segment index must be a non-negative int, got {index!r}")
    if f".{ext}" not in _CONTAINERS:
        raise ConfigError(f"segment extension must be one of {sorted(_CONTAINERS)}, got {ext!r}")
    return join_url(root, sanitize_key_component(video_id), sanitize_key_component(config_hash),
                    f"seg-{index:05d}.{ext}")


def codec_for_root(root: str, codec: str = "auto") -> str:
    """The intermediate codec for segment files under `root`: `auto` is uncompressed on local disk (a
    quarter of UT Video's CPU to write and read back, three times the bytes) and UT Video on object stores
    and their mounts."""
    if codec != "auto":
        if codec not in _CODECS:
            raise ConfigError(f"intermediate codec must be auto or one of {sorted(_CODECS)}, got {codec!r}")
        return codec
    from seedvr.video.storage import is_local, local_path

    path = local_path(root) if is_local(root) else None
    if path is None or (os.path.abspath(path) + "/").startswith(_MOUNTED_STORES):
        return DEFAULT_CODEC
    return "rawvideo"


# Bytes per pixel and frame of each codec on restored footage (8-bit RGB; measured at 720p, see the top);
# smooth or flat pictures take less. 16-bit frames (FFV1 gbrp16le, rawvideo rgb48) take about twice.
CODEC_BYTES_PER_PIXEL = {"rawvideo": 3.0, "utvideo": 3 * 0.36, "ffv1": 3 * 0.24}


def _codec_for(url: str, codec: str, dtype: np.dtype) -> tuple[str, str, str]:
    """(container, codec, pixel format) for a segment file."""
    ext = os.path.splitext(url)[1].lower()
    if ext not in _CONTAINERS:
        raise ConfigError(f"{url}: segment files must end in {' or '.join(_CONTAINERS)}")
    if codec not in _CODECS:
        raise ConfigError(f"intermediate codec must be one of {sorted(_CODECS)}, got {codec!r}")
    eight, sixteen = _CODECS[codec]
    if dtype == np.uint16 and sixteen is None:
        codec, (eight, sixteen) = "ffv1", _CODECS["ffv1"]
    if ext == ".mkv" and codec != "ffv1":
        raise ConfigError(f"{url}: MKV cannot hold {codec}; use a .nut key or codec='ffv1'")
    return _CONTAINERS[ext], codec, eight if dtype == np.uint8 else str(sixteen)


# 8-bit planar RGB (UT Video's) keeps its planes in the order G, B, R.
_GBR = (1, 2, 0)


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """Views of an 8-bit planar frame's planes, (H, W) each, without their row padding."""
    h, w = frame.height, frame.width
    return [np.frombuffer(p, np.uint8, count=h * p.line_size).reshape(h, p.line_size)[:, :w] for p in frame.planes]


def _frame_of(arr: np.ndarray, pix_fmt: str, sws: VideoReformatter) -> av.VideoFrame:
    if pix_fmt == "gbrp":
        # Each channel copied straight into its plane: 0.7 ms for a 720p frame, against 1.6 ms through an
        # rgb24 frame and swscale.
        frame = av.VideoFrame(arr.shape[1], arr.shape[0], "gbrp")
        for plane, channel in zip(_planes(frame), _GBR, strict=True):
            plane[:] = arr[:, :, channel]
        return frame
    if pix_fmt == "bgr0":  # swscale repacks faster than PyAV's per-plane copy
        return sws.reformat(av.VideoFrame.from_ndarray(arr, format="rgb24"), format=pix_fmt)
    return av.VideoFrame.from_ndarray(arr, format=pix_fmt)  # rgb24 / rgb48le / gbrp16le take (H, W, 3) RGB


def write_segment(url: str, frames: np.ndarray | Iterable[np.ndarray], *,
                  metadata: Mapping[str, object] | None = None, codec: str = DEFAULT_CODEC,
                  threads: int = 0, digest: bool = True) -> SegmentFile:
    """Encode frames ((T,H,W,3) uint8/uint16, or an iterable of (H,W,3)) losslessly to `url`, atomically.

    Uncompressed frames go into the container as packets of the array's bytes: the rawvideo encoder
    would only copy them (twice: into a frame, then into a packet). The sha256 is taken as the bytes are
    written; `digest=False` skips it, for a scratch file its own process reads back (checked by size).
    """
    n = 0
    shape: tuple[int, ...] | None = None
    dtype: np.dtype | None = None
    fmt, _, _ = _codec_for(url, codec, np.dtype(np.uint8))  # validate before any work
    with atomic_write(url) as tmp, open(tmp, "wb") if digest else contextlib.nullcontext() as raw:
        # Hashing passes the bytes through a file object; without it the muxer writes the file itself.
        sink = HashingWriter(raw) if raw is not None else None
        try:
            out = av.open(sink if sink is not None else tmp, "w", format=fmt, buffer_size=_IO_BUFFER)
            try:
                for key, value in (metadata or {}).items():
                    out.metadata[str(key)] = str(value)
                stream = None
                packets = False
                sws = reformatter("segment-write")
                for arr in frames:
                    arr = np.asarray(arr)
                    if shape is None:
                        if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype not in (np.uint8, np.uint16):
                            raise InputError(f"segment frames must be (H, W, 3) uint8 or uint16, got "
                                             f"{arr.shape} {arr.dtype}")
                        shape, dtype = arr.shape, arr.dtype
                        _, name, pix_fmt = _codec_for(url, codec, dtype)
                        opts = {"level": "3", "slicecrc": "1"} if name == "ffv1" else {}
                        stream = out.add_stream(name, rate=25, options=opts)
                        stream.width, stream.height, stream.pix_fmt = arr.shape[1], arr.shape[0], pix_fmt
                        stream.codec_context.thread_count = threads
                        stream.codec_context.thread_type = "SLICE"
                        # rgb24 / rgb48le packets are the frame's bytes, rows unpadded, little-endian samples
                        packets = name == "rawvideo" and (arr.dtype == np.uint8 or sys.byteorder == "little")
                    elif arr.shape != shape or arr.dtype != dtype:
                        raise InputError(f"segment frame {n} is {arr.shape} {arr.dtype}, expected {shape} {dtype}")
                    if packets:
                        packet = av.Packet(np.ascontiguousarray(arr))
                        packet.pts = packet.dts = n
                        packet.time_base, packet.stream, packet.is_keyframe = _TB, stream, True
                        out.mux(packet)
                    else:
                        frame = _frame_of(np.ascontiguousarray(arr), pix_fmt, sws)
                        frame.pts, frame.time_base = n, _TB
                        out.mux(stream.encode(frame))
                    n += 1
                if stream is None:
                    raise InputError(f"{url}: a segment needs at least one frame")
                if not packets:
                    out.mux(stream.encode(None))
            finally:
                out.close()
        except av.error.PyAVCallbackError:  # a full disk under the file object: say so
            if sink is None or sink.failure is None:
                raise
            raise OSError(sink.failure.errno, sink.failure.strerror, url) from sink.failure
        if sink is not None:
            raw.flush()
        sha256 = sink.hexdigest(tmp) if sink is not None else None
        size = os.path.getsize(tmp)
    assert shape is not None and dtype is not None
    return SegmentFile(url=url, sha256=sha256, num_frames=n, width=shape[1], height=shape[0],
                       dtype=str(dtype), size_bytes=size)


def iter_segment(url: str, *, sha256: str | None = None, size_bytes: int | None = None) -> Iterator[np.ndarray]:
    """Yield the frames of a segment file one by one, checking its sha256 (when given) in the same pass.

    The digest is complete only once the file has been read, so a damaged file raises CorruptVideoError
    after its last frame, before the iterator ends: a consumer that writes atomically (the stitcher)
    never commits a file made from it. A decoding error in a file whose digest differs is reported as
    the mismatch it is.

    `size_bytes` instead of `sha256` is the cheap check for a file this process wrote moments ago into its
    own scratch folder (seedvr-clip): the atomic write already rules out a half-written file, and a hash
    pass would cost as much as reading it. Files from other tasks or runs are verified by digest.
    """
    with local_copy(url) as path:
        if size_bytes is not None and os.path.getsize(path) != size_bytes:
            raise CorruptVideoError(f"{url}: segment file is {os.path.getsize(path)} bytes, {size_bytes} were written; "
                                    "something else changed the scratch folder: run again")
        with open(path, "rb") if sha256 is not None else contextlib.nullcontext() as raw:
            source = HashingReader(raw) if raw is not None else path

            def check() -> None:
                if isinstance(source, HashingReader) and (actual := source.hexdigest(path)) != sha256:
                    raise CorruptVideoError(
                        f"{url}: segment checksum mismatch (expected {sha256[:12]}…, found {actual[:12]}…); "
                        "the object was damaged or overwritten: re-run the segment")

            try:
                container = av.open(source, "r", buffer_size=_IO_BUFFER)
            except Exception as exc:  # noqa: BLE001
                check()
                raise map_av_error(_cause(source, exc), url) from exc
            try:
                stream = container.streams.video[0]
                fmt = "rgb48le" if bit_depth_of(stream.codec_context.pix_fmt or "gbrp") > 8 else "rgb24"
                sws = reformatter("segment-read")
                for frame in container.decode(stream):
                    if frame.format.name == "gbrp":  # the planes stacked as RGB: 0.7 ms at 720p, swscale 1.2
                        g, b, r = _planes(frame)
                        yield np.stack((r, g, b), axis=-1)
                    else:
                        yield sws.reformat(frame, format=fmt).to_ndarray().copy()
            except CorruptVideoError:
                raise
            except Exception as exc:  # noqa: BLE001
                check()
                raise map_av_error(_cause(source, exc), url, stage="decoding a segment") from exc
            finally:
                container.close()
            check()


def _cause(source: object, exc: BaseException) -> BaseException:
    """The OSError under PyAV's callback error when the file object met one (seedvr.video.digest)."""
    return source.cause(exc) if isinstance(source, HashingReader) else exc


def read_segment(url: str, *, sha256: str | None = None) -> np.ndarray:
    """All frames of a segment as (T, H, W, 3)."""
    frames = list(iter_segment(url, sha256=sha256))
    if not frames:
        raise CorruptVideoError(f"{url}: the segment holds no frames; re-run the segment")
    return np.stack(frames)
