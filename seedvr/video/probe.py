"""Probe a video exactly: a frame table from packet timestamps, size, rotation, colour, audio.

Frame counts and rates from container headers are unreliable (MKV has no frame count, VFR files
report a nominal rate), so the frame table comes from one demux-only pass over the packets, which is
nearly free. Only the first frame is decoded (rotation and colour tags live on decoded frames).
Everything native runs in a child process (see `sandbox`), so hostile files cannot crash the caller.
"""

from __future__ import annotations

import os
import re
import tempfile
from fractions import Fraction
from typing import Any

import av
import fsspec

from seedvr.errors import (
    BadTimestampsError,
    CorruptVideoError,
    NoVideoStreamError,
    TruncatedVideoError,
    UnsupportedCodecError,
)
from seedvr.video.avutil import bit_depth_of, map_av_error, open_video
from seedvr.video.hdr import hdr_from_frame
from seedvr.video.info import (
    MAX_PIXELS,
    MAX_SIDE,
    ColorInfo,
    StreamInfo,
    VideoInfo,
    check_dimensions,
    detect_vfr,
)
from seedvr.video.remux import needs_remux, remux_key, remux_to_mkv
from seedvr.video.sandbox import run_isolated
from seedvr.video.storage import check_readable

DEFAULT_TIMEOUT_S = 120.0
DEFAULT_MAX_MEMORY_MB = 4096


def default_remux_dir() -> str:
    return os.path.join(tempfile.gettempdir(), "seedvr-remux")


def probe(
    url: str,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_memory_mb: int | None = DEFAULT_MAX_MEMORY_MB,
    remux_dir: str | None = None,
    raw_rate: Fraction | int | None = None,
    max_side: int = MAX_SIDE,
    max_pixels: int = MAX_PIXELS,
    isolate: bool = True,
) -> VideoInfo:
    """Probe `url` (any fsspec URL) in a child process limited to `timeout_s` and `max_memory_mb`.

    MPEG-TS and raw elementary streams are remuxed (packet copy) to an MKV under `remux_dir`
    (an fsspec URL; a local temp folder by default) and `VideoInfo.decode_url` points there.
    `raw_rate` is the frame rate to assume for raw streams, which carry none.
    `isolate=False` runs in-process (for callers that are already sandboxed).
    """
    size = check_readable(url)
    if size == 0:
        raise CorruptVideoError(f"{url}: the file is empty (0 bytes); the upload failed: re-upload it")
    kwargs: dict[str, Any] = {
        "remux_dir": remux_dir or default_remux_dir(),
        "raw_rate": None if raw_rate is None else Fraction(raw_rate),
        "max_side": max_side,
        "max_pixels": max_pixels,
        "size_bytes": size,
    }
    if isolate:
        d = run_isolated(probe_in_process, url, what=url, timeout_s=timeout_s, max_memory_mb=max_memory_mb,
                         **kwargs)
    else:
        d = probe_in_process(url, **kwargs)
    return VideoInfo.from_dict(d)


def probe_in_process(
    url: str,
    *,
    remux_dir: str,
    raw_rate: Fraction | None = None,
    max_side: int = MAX_SIDE,
    max_pixels: int = MAX_PIXELS,
    size_bytes: int = 0,
    decode_url: str | None = None,
) -> dict[str, Any]:
    """The probe itself, returning `VideoInfo.to_dict()`; call through `probe` unless already isolated."""
    src = decode_url or url
    try:
        return _probe_container(url, src, remux_dir=remux_dir, raw_rate=raw_rate, max_side=max_side,
                                max_pixels=max_pixels, size_bytes=size_bytes, remuxed=decode_url is not None)
    except CorruptVideoError as exc:
        if _mp4_is_cut_short(src):
            raise TruncatedVideoError(
                f"{url}: the MP4 ends inside a box or lacks its index ('moov'); the recording or upload "
                "was cut short: re-upload it (or recover it with a tool such as untrunc)"
            ) from exc
        raise


def _probe_container(url: str, src: str, *, remux_dir: str, raw_rate: Fraction | None, max_side: int,
                     max_pixels: int, size_bytes: int, remuxed: bool) -> dict[str, Any]:
    with open_video(src) as c:
        if not c.streams.video:
            kinds = sorted({s.type for s in c.streams}) or ["none"]
            raise NoVideoStreamError(
                f"{url}: no video stream (streams found: {', '.join(kinds)}); "
                "this is not a video: remove it from the catalog or point to the video file"
            )
        v = c.streams.video[0]
        cc = v.codec_context
        check_dimensions(int(cc.width or 0), int(cc.height or 0), url, max_side=max_side, max_pixels=max_pixels)
        if cc.codec is None or not _has_decoder(cc.name):
            raise UnsupportedCodecError(
                f"{url}: codec {cc.name!r} has no decoder in this build; transcode to H.264/HEVC/AV1 first"
            )
        if not remuxed and needs_remux(c):
            target = remux_key(remux_dir, url)
            source_format = c.format.name
            c.close()
            used_rate = remux_to_mkv(url, target, raw_rate=raw_rate)
            d = probe_in_process(url, remux_dir=remux_dir, max_side=max_side, max_pixels=max_pixels,
                                 size_bytes=size_bytes, decode_url=target)
            d["remuxed"] = True
            d["remux_rate"] = [used_rate.numerator, used_rate.denominator] if used_rate else None
            d["container"] = source_format
            return d
        return _describe(c, v, url, src, size_bytes)


def _mp4_is_cut_short(url: str) -> bool:
    """True for an ISO-BMFF file whose top-level boxes run past the end or that has no 'moov' box."""
    try:
        with fsspec.open(url, "rb") as f:
            size = f.size if hasattr(f, "size") and f.size is not None else f.seek(0, 2)
            f.seek(0)
            head = f.read(12)
            if len(head) < 12 or head[4:8] != b"ftyp":
                return False
            pos, types = 0, set()
            while pos + 8 <= size:
                f.seek(pos)
                box = f.read(16)
                box_size, kind = int.from_bytes(box[:4], "big"), box[4:8]
                if box_size == 1:
                    box_size = int.from_bytes(box[8:16], "big")
                elif box_size == 0:
                    box_size = size - pos
                if box_size < 8 or pos + box_size > size:
                    return True
                types.add(kind)
                pos += box_size
            return b"moov" not in types
    except Exception:  # noqa: BLE001 - a sniffing failure just means "not known to be truncated"
        return False


def _has_decoder(name: str) -> bool:
    try:
        av.codec.Codec(name, "r")
        return True
    except Exception:  # noqa: BLE001 - UnknownCodecError and friends
        return False


def _describe(c: av.container.InputContainer, v: av.video.stream.VideoStream, url: str, src: str,
              size_bytes: int) -> dict[str, Any]:
    pts, first = _frame_table(c, v, url)
    if not pts:
        raise CorruptVideoError(f"{url}: the video stream holds no frames; re-encode or re-upload it")
    if first is None:
        raise CorruptVideoError(f"{url}: no frame could be decoded; the stream is damaged: re-encode it")
    if src == url:  # a remuxed copy's header durations are estimates from TS/raw streams
        _check_truncation(c, v, pts, url)
    cc = v.codec_context
    pix_fmt = first.format.name or cc.pix_fmt or "yuv420p"
    color = ColorInfo(
        matrix=int(first.colorspace if first.colorspace is not None else cc.colorspace),
        range=int(first.color_range if first.color_range is not None else cc.color_range),
        primaries=int(first.color_primaries if first.color_primaries is not None else cc.color_primaries),
        transfer=int(first.color_trc if first.color_trc is not None else cc.color_trc),
    )
    sar = v.sample_aspect_ratio or cc.sample_aspect_ratio
    info = VideoInfo(
        url=url,
        decode_url=src,
        container=c.format.name,
        codec=cc.name,
        pix_fmt=pix_fmt,
        bit_depth=bit_depth_of(pix_fmt),
        width=int(first.width),
        height=int(first.height),
        time_base=Fraction(v.time_base),
        pts=tuple(pts),
        stream_index=v.index,
        sar=(sar.numerator, sar.denominator) if sar else (1, 1),
        rotation=int(round(first.rotation or 0)) % 360,
        color=color,
        vfr=detect_vfr(pts),
        audio=tuple(_stream_info(s) for s in c.streams.audio),
        subtitles=tuple(_stream_info(s) for s in c.streams.subtitles),
        size_bytes=size_bytes,
        hdr_metadata=hdr_from_frame(first),
    )
    return info.to_dict()


def _frame_table(c: av.container.InputContainer, v: Any, url: str) -> tuple[list[int], Any]:
    """Sorted packet pts of the video stream (demux only), plus the first decoded frame."""
    pts: list[int] = []
    first = None
    try:
        for pkt in c.demux(v):
            if pkt.size == 0 or pkt.is_discard:
                continue
            if pkt.pts is None:
                raise BadTimestampsError(
                    f"{url}: video packet {len(pts)} has no timestamp; remux with `ffmpeg -fflags +genpts "
                    "-i IN -c copy OUT.mkv` and retry"
                )
            pts.append(int(pkt.pts))
            if first is None:
                frames = v.decode(pkt)
                if frames:
                    first = frames[0]
        if first is None:
            frames = v.decode(None)
            first = frames[0] if frames else None
    except BadTimestampsError:
        raise
    except Exception as exc:  # noqa: BLE001
        if pts and isinstance(exc, (av.error.InvalidDataError, EOFError)):
            raise TruncatedVideoError(
                f"{url}: reading stopped after {len(pts)} frames ({exc}); the file is cut short: re-upload it"
            ) from exc
        raise map_av_error(exc, url, stage="reading packets") from exc
    pts.sort()
    if pts and pts[0] < 0:
        raise BadTimestampsError(
            f"{url}: negative frame timestamp {pts[0]}; remux with `ffmpeg -i IN -c copy "
            "-avoid_negative_ts make_zero OUT.mkv` and retry"
        )
    dup = next((a for a, b in zip(pts[:-1], pts[1:], strict=True) if a == b), None)
    if dup is not None:
        raise BadTimestampsError(
            f"{url}: two frames share the timestamp {dup}; the stream's timestamps are broken: "
            "remux with `ffmpeg -fflags +genpts` or re-encode"
        )
    return pts, first


_DURATION_TAG = re.compile(r"^(\d+):(\d\d):(\d\d(?:\.\d+)?)$")


def _declared_duration_s(v: Any) -> float | None:
    """The video stream's duration as written by the muxer (MP4 stream duration, MKV DURATION tag)."""
    if v.duration:
        return float(v.duration * v.time_base)
    tag = (v.metadata or {}).get("DURATION") or (v.metadata or {}).get("duration")
    m = _DURATION_TAG.match(tag.strip()) if tag else None
    if m:
        return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return None


def _check_truncation(c: Any, v: Any, pts: list[int], url: str) -> None:
    """Compare the frames found with what the header promised (MP4 sample count, stream duration)."""
    if v.frames and len(pts) < v.frames:
        raise TruncatedVideoError(
            f"{url}: the header lists {v.frames} frames but only {len(pts)} are present; "
            "the file is cut short: re-upload it"
        )
    declared = _declared_duration_s(v)
    if declared is None and len(c.streams) == 1 and c.duration:
        declared = c.duration / 1_000_000
    if declared is None or len(pts) < 2:
        return
    step = (pts[-1] - pts[0]) / (len(pts) - 1)
    # Muxers write either the span (MP4) or the end time (MKV's DURATION tag): compare with the larger.
    found = float((max(pts[-1], pts[-1] - pts[0]) + step) * v.time_base)
    if declared - found > max(2 * step * float(v.time_base), 0.05 * declared):
        raise TruncatedVideoError(
            f"{url}: the header declares {declared:.3f} s of video but only {found:.3f} s are present; "
            "the file is cut short: re-upload it"
        )


def _stream_info(s: Any) -> StreamInfo:
    cc = s.codec_context
    return StreamInfo(
        index=s.index,
        kind=s.type,
        codec=cc.name if cc is not None else "unknown",
        language=s.language,
        sample_rate=getattr(cc, "sample_rate", None) if s.type == "audio" else None,
        channels=getattr(cc, "channels", None) if s.type == "audio" else None,
    )
