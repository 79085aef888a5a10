"""Stitch restored segments into one video: cross-fade overlaps, encode once, copy audio once.

Streaming: segments are read in order and a frame is encoded as soon as no later segment can
change it, so memory holds at most one overlap of frames, whatever the video's length. Segments are
decoded (and their digests checked) in a thread a few frames ahead of the encoder. The output
carries the source's pts and time base (VFR survives), colour tags, rotation and display aspect;
audio and subtitle packets are copied packet for packet. The file appears at its final key only
once complete.

Known container behaviour: copying AAC from MP4 into MKV drops MP4's priming edit list, so the MKV
muxer shifts every stream by the priming (about 1024 samples); relative timing and A/V sync are kept.
Subtitles a container cannot hold (SubRip in MP4) are skipped and listed in `skipped_streams`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np

from seedvr.errors import ConfigError, InputError, VideoError
from seedvr.video.ahead import SegmentsAhead
from seedvr.video.avutil import map_av_error, open_video, resolved_color
from seedvr.video.blend import blend_frames, crossfade_weights
from seedvr.video.encode import EncodeSettings, VideoWriter, container_format, output_sar
from seedvr.video.info import VideoInfo
from seedvr.video.intermediate import iter_segment
from seedvr.video.plan import Segment, check_plan
from seedvr.video.remux import ensure_decodable
from seedvr.video.storage import atomic_write, sha256_file

SegmentOpener = Callable[[int], Iterator[np.ndarray]]
# `seal(tmp_path, muxer, output_url)`: signs the finished temporary file in place before it is committed.
Sealer = Callable[[str, str, str], Any]
# Decoded segment frames that may wait for the encoder (a 4K 16-bit frame is 50 MB).
READ_AHEAD_FRAMES = 4
# Containers that keep arbitrary tags only when asked to (MP4/MOV write title/comment/encoder otherwise).
_TAG_OPTIONS = {"mp4": {"movflags": "use_metadata_tags"}, "mov": {"movflags": "use_metadata_tags"}}


@dataclass(frozen=True)
class StitchResult:
    url: str
    num_frames: int
    width: int
    height: int
    sha256: str
    size_bytes: int
    codec: str
    pix_fmt: str
    blend: str
    copied_packets: dict[int, int] = field(default_factory=dict)  # source stream index -> packets
    skipped_streams: tuple[str, ...] = ()
    seconds: float = 0.0
    sealed: Any = None  # what `seal` returned (seedvr.provenance.seal.SealRecord)


def blend_stream(segments: Sequence[Segment], open_segment: SegmentOpener, *, num_frames: int,
                 blend: str = "linear") -> Iterator[tuple[int, np.ndarray]]:
    """Yield `(frame_index, frame)` for every output frame in order, overlaps cross-faded.

    `open_segment(k)` yields the restored frames of segment k's window `[window_start, last_output]`.
    Context frames of segment k are blended into the value the earlier segments produced, with the
    ramp weight of segment k; a frame is released once no later window contains it.
    """
    check_plan(segments, num_frames)
    crossfade_weights(0, blend)  # validate the name up front
    pending: dict[int, np.ndarray] = {}
    next_emit = 0
    shape: tuple[int, ...] | None = None
    dtype: np.dtype | None = None
    for k, seg in enumerate(segments):
        release_below = segments[k + 1].window_start if k + 1 < len(segments) else num_frames
        weights = crossfade_weights(seg.context_frames, blend)
        count = 0
        for j, frame in enumerate(open_segment(k)):
            f = seg.window_start + j
            if f > seg.last_output:
                raise InputError(f"segment {k} holds more than its {seg.window_frames} window frames")
            if shape is None:
                shape, dtype = frame.shape, frame.dtype
            elif frame.shape != shape or frame.dtype != dtype:
                raise InputError(f"segment {k} frame {j} is {frame.shape} {frame.dtype}; earlier segments "
                                 f"were {shape} {dtype}: every segment must be restored at one size")
            if f < seg.first_output:
                if f not in pending:
                    raise InputError(f"segment {k} context frame {f} has no earlier version to blend with")
                pending[f] = blend_frames(pending[f], frame, float(weights[j]))
            else:
                pending[f] = frame
            count += 1
            while next_emit <= f and next_emit < release_below and next_emit in pending:
                yield next_emit, pending.pop(next_emit)
                next_emit += 1
        if count != seg.window_frames:
            raise InputError(f"segment {k} holds {count} frames, expected {seg.window_frames} "
                             f"(window {seg.window_start}..{seg.last_output}); re-run the segment")
    if next_emit != num_frames or pending:
        raise VideoError(f"stitching released {next_emit} of {num_frames} frames; the plan is inconsistent")


class _PacketCopier:
    """Copies audio/subtitle packets from the source, interleaved by time with the encoded video."""

    def __init__(self, src: av.container.InputContainer, out: av.container.OutputContainer,
                 streams: list, url: str) -> None:
        self.url = url
        self.out = out
        self.mapping = {}
        self.skipped: list[str] = []
        for s in streams:
            try:
                self.mapping[s.index] = out.add_stream_from_template(s)
            except Exception as exc:  # noqa: BLE001
                if s.type == "audio":
                    raise ConfigError(f"{url}: audio codec {s.codec_context.name!r} cannot be copied into this "
                                      f"container ({exc}); write an .mkv output instead") from exc
                self.skipped.append(f"{s.type}#{s.index}:{s.codec_context.name}")
        self.counts = dict.fromkeys(self.mapping, 0)
        self._iter = src.demux(*[s for s in streams if s.index in self.mapping]) if self.mapping else iter(())
        self._next: av.Packet | None = None
        self._done = not self.mapping

    def _peek(self) -> av.Packet | None:
        while self._next is None and not self._done:
            try:
                pkt = next(self._iter)
            except StopIteration:
                self._done = True
                break
            if pkt.dts is None and pkt.pts is None or pkt.size == 0:
                continue
            self._next = pkt
        return self._next

    def mux_until(self, seconds: float | None) -> None:
        while (pkt := self._peek()) is not None:
            ts = pkt.dts if pkt.dts is not None else pkt.pts
            if seconds is not None and float(ts * pkt.time_base) > seconds:
                return
            index = pkt.stream.index
            pkt.stream = self.mapping[index]
            self.out.mux(pkt)
            self.counts[index] += 1
            self._next = None


def stitch_video(
    info: VideoInfo,
    segments: Sequence[Segment],
    segment_urls: Sequence[str],
    output_url: str,
    *,
    settings: EncodeSettings | None = None,
    blend: str = "linear",
    checksums: Sequence[str | None] | None = None,
    copy_audio: bool = True,
    copy_subtitles: bool = True,
    progress: Callable[[int, int], None] | None = None,
    observe: Callable[[int, np.ndarray], None] | None = None,
    finish: Callable[[np.ndarray], np.ndarray] | None = None,
    streams_from: VideoInfo | None = None,
    tags: Mapping[str, str] | None = None,
    seal: Sealer | None = None,
    read_ahead: int = READ_AHEAD_FRAMES,
) -> StitchResult:
    """Blend and encode the segments of one video to `output_url` (written atomically).

    `observe(index, frame)` sees every blended frame before it is encoded (seam scores, previews), so
    callers never decode the output again to look at it. `finish` turns a blended picture into the output
    frame (the bars of a prepared source put back); `streams_from` is the original file whose audio and
    subtitles are copied when `info` describes its prepared mezzanine. `tags` are container metadata;
    `seal` signs the finished file before it appears (see `encode_stream`). `read_ahead` frames are decoded
    ahead of the encoder in a thread (0: in the caller's thread).
    """
    settings = settings or EncodeSettings()
    if len(segment_urls) != len(segments):
        raise InputError(f"{len(segments)} segments but {len(segment_urls)} segment URLs")
    if checksums is not None and len(checksums) != len(segments):
        raise InputError(f"{len(segments)} segments but {len(checksums)} checksums")
    fmt = container_format(output_url, settings)

    def open_segment(k: int) -> Iterator[np.ndarray]:
        return iter_segment(segment_urls[k], sha256=checksums[k] if checksums else None)

    with SegmentsAhead(open_segment, len(segments), read_ahead) if read_ahead > 0 else _NullContext() as ahead:
        frames = blend_stream(segments, ahead.open if ahead is not None else open_segment,
                              num_frames=info.num_frames, blend=blend)
        if observe is not None:
            frames = _tapped(frames, observe)
        if finish is not None:
            frames = ((i, finish(f)) for i, f in frames)
        return encode_stream(info, frames, output_url, settings=settings, fmt=fmt, blend=blend,
                             copy_audio=copy_audio, copy_subtitles=copy_subtitles, progress=progress,
                             streams_from=streams_from, tags=tags, seal=seal)


def _tapped(frames: Iterator[tuple[int, np.ndarray]],
            observe: Callable[[int, np.ndarray], None]) -> Iterator[tuple[int, np.ndarray]]:
    for index, frame in frames:
        observe(index, frame)
        yield index, frame


def encode_stream(
    info: VideoInfo,
    frames: Iterator[tuple[int, np.ndarray]],
    output_url: str,
    *,
    settings: EncodeSettings,
    fmt: str | None = None,
    blend: str = "",
    copy_audio: bool = True,
    copy_subtitles: bool = True,
    progress: Callable[[int, int], None] | None = None,
    streams_from: VideoInfo | None = None,
    tags: Mapping[str, str] | None = None,
    seal: Sealer | None = None,
) -> StitchResult:
    """Encode `(index, frame)` pairs with the source's timestamps, tags and rotation, plus stream copies.

    `streams_from` is the file whose audio and subtitles are copied when `info` describes a prepared
    mezzanine of it (deinterlaced, cropped, ...): the mezzanine keeps the original's timestamps.
    `seal(tmp, muxer, output_url)` runs on the complete temporary file, so the digest and the committed
    bytes are the signed ones and no unsigned file ever appears at `output_url`.
    """
    t0 = time.perf_counter()
    fmt = fmt or container_format(output_url, settings)
    n = info.num_frames
    ten_bit = settings.use_ten_bit(info.high_bit_depth, info.is_hdr)
    color = resolved_color(info.color, info.height, info.pix_fmt)
    carrier = streams_from or info
    with atomic_write(output_url) as tmp, _open_source(carrier, copy_audio or copy_subtitles) as src:
        out = av.open(tmp, "w", format=fmt, options=_TAG_OPTIONS.get(fmt, {}) if tags else {})
        if tags:
            out.metadata.update(dict(tags))
        try:
            writer: VideoWriter | None = None
            copier: _PacketCopier | None = None
            expected = 0
            for f, frame in frames:
                if f != expected:
                    raise VideoError(f"frame {f} arrived where frame {expected} was expected")
                if writer is None:
                    h, w = frame.shape[:2]
                    if settings.is_lossless:  # lossless keeps exactly the frames' bit depth
                        ten_bit = frame.dtype == np.uint16
                    writer = VideoWriter(
                        out, width=w, height=h, time_base=info.time_base, settings=settings,
                        ten_bit=ten_bit, color=color, rotation=info.rotation,
                        sar=output_sar(info.sar, (info.width, info.height), (w, h)),
                        rate=Fraction(info.fps).limit_denominator(1001) if info.fps > 0 else None,
                        hdr=info.hdr_metadata,
                    )
                    copier = _PacketCopier(src, out, _copy_streams(src, carrier, copy_audio, copy_subtitles),
                                           carrier.url) if src is not None else None
                writer.write(frame, info.pts[f])
                if copier is not None:
                    copier.mux_until(float(info.time_of(f)))
                expected += 1
                if progress is not None:
                    progress(expected, n)
            if writer is None:
                raise VideoError(f"{info.url}: no frames to encode")
            if expected != n:
                raise VideoError(f"{info.url}: encoded {expected} frames but the source has {n}; refusing "
                                 "to write a video with a different frame count")
            writer.flush()
            if copier is not None:
                copier.mux_until(None)
        except av.error.FFmpegError as exc:
            out.close()
            raise map_av_error(exc, output_url, stage="encoding") from exc
        except BaseException:  # the frame source's own errors (a failed restorer, a bad segment) as they are
            out.close()
            raise
        out.close()
        sealed = seal(tmp, fmt, output_url) if seal is not None else None
        digest = sha256_file(tmp)
        size = os.path.getsize(tmp)
    return StitchResult(
        url=output_url, num_frames=expected, width=writer.stream.width, height=writer.stream.height,
        sha256=digest, size_bytes=size, codec=settings.codec, pix_fmt=writer.pix_fmt, blend=blend,
        copied_packets=dict(copier.counts) if copier else {},
        skipped_streams=tuple(copier.skipped) if copier else (), seconds=time.perf_counter() - t0, sealed=sealed,
    )


def _copy_streams(src: av.container.InputContainer, info: VideoInfo, audio: bool, subs: bool) -> list:
    want = {s.index for s in info.audio} if audio else set()
    if subs:
        want |= {s.index for s in info.subtitles}
    return [s for s in src.streams if s.index in want]


class _NullContext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _open_source(info: VideoInfo, needed: bool):  # noqa: ANN202 - a context manager or a null one
    if needed and (info.audio or info.subtitles):
        return open_video(ensure_decodable(info))
    return _NullContext()
