"""Packet-copy MPEG-TS and raw elementary streams into MKV, where seeking and timestamps are exact.

On MPEG-TS FFmpeg's seek lands after the target; raw .h264/.hevc streams carry no timestamps at all.
Remuxing costs a fraction of a second and no quality. Raw streams get timestamps from a supplied
frame rate: one decode pass learns the presentation order of the packets (B-frames reorder them).
"""

from __future__ import annotations

import hashlib
import os
from fractions import Fraction

import av

from seedvr.errors import BadTimestampsError
from seedvr.video.avutil import map_av_error, open_video
from seedvr.video.info import VideoInfo
from seedvr.video.storage import atomic_write, join_url, local_path

TS_FORMATS = ("mpegts", "mpegtsraw")
RAW_FORMATS = ("h264", "hevc", "mpegvideo", "m4v", "obu", "vvc", "ivf")


def format_names(container: av.container.InputContainer) -> set[str]:
    return set(container.format.name.split(","))


def needs_remux(container: av.container.InputContainer) -> bool:
    names = format_names(container)
    return bool(names & set(TS_FORMATS)) or bool(names & set(RAW_FORMATS))


def is_raw(container: av.container.InputContainer) -> bool:
    return bool(format_names(container) & set(RAW_FORMATS))


def remux_key(remux_dir: str, url: str) -> str:
    """Deterministic MKV key for one source URL (a digest, so any URL maps to a safe name)."""
    return join_url(remux_dir, hashlib.sha256(url.encode()).hexdigest()[:24] + ".mkv")


def _presentation_order(url: str) -> list[int]:
    """For raw streams: the presentation rank of every packet in decode order."""
    decoded: list[int] = []
    with open_video(url) as c:
        v = c.streams.video[0]
        try:
            i = 0
            for pkt in c.demux(v):
                if pkt.size == 0:
                    continue
                pkt.pts = pkt.dts = i
                i += 1
                decoded.extend(int(f.pts) for f in v.decode(pkt) if f.pts is not None)
            decoded.extend(int(f.pts) for f in v.decode(None) if f.pts is not None)
        except Exception as exc:  # noqa: BLE001
            raise map_av_error(exc, url, stage="decoding the raw stream") from exc
    rank = {pkt_index: r for r, pkt_index in enumerate(decoded)}
    return [rank.get(i, -1) for i in range(max(decoded, default=-1) + 1)]


def remux_to_mkv(url: str, dst_url: str, *, raw_rate: Fraction | None = None) -> Fraction | None:
    """Copy the video, audio and subtitle packets of `url` into an MKV at `dst_url` (atomically).

    Returns the frame rate assumed for a raw stream (None for containers with timestamps).
    """
    with open_video(url) as probe_c:
        raw = is_raw(probe_c)
        default_rate = probe_c.streams.video[0].average_rate if probe_c.streams.video else None
    rank: list[int] = []
    tick = Fraction(1, 25)
    rate: Fraction | None = None
    if raw:
        rate = Fraction(raw_rate) if raw_rate else Fraction(default_rate or 25)
        tick = 1 / rate
        rank = _presentation_order(url)
        delay = max((i - r for i, r in enumerate(rank) if r >= 0), default=0)
    with open_video(url) as c, atomic_write(dst_url, suffix=".mkv") as tmp:
        out = av.open(tmp, "w", format="matroska")
        try:
            streams = [s for s in c.streams if s.type in ("video", "audio", "subtitle")]
            if raw:
                streams = [c.streams.video[0]]
            mapping = {s.index: out.add_stream_from_template(s) for s in streams}
            video_index = c.streams.video[0].index
            n = 0
            for pkt in c.demux(*streams):
                if pkt.dts is None and not raw or pkt.size == 0:
                    continue
                if raw and pkt.stream.index == video_index:
                    if n >= len(rank) or rank[n] < 0:
                        n += 1
                        continue  # a packet that produced no picture (parameter sets only)
                    pkt.pts, pkt.dts, pkt.duration = rank[n] + delay, n, 1
                    pkt.time_base = tick
                    n += 1
                elif pkt.pts is None:
                    raise BadTimestampsError(f"{url}: a packet has no timestamp; the stream cannot be remuxed")
                pkt.stream = mapping[pkt.stream.index]
                out.mux(pkt)
        except BadTimestampsError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise map_av_error(exc, url, stage="remuxing to MKV") from exc
        finally:
            out.close()
    return rate


def ensure_decodable(info: VideoInfo) -> str:
    """The URL to decode `info`'s video from, re-creating a remuxed copy that is missing.

    The default remux folder is local scratch: another machine (a Spark executor other than the one
    that probed) finds no copy there and makes its own. Remuxing is deterministic, so every copy has
    the same timestamps as the one the probe described.
    """
    if not info.remuxed or info.decode_url == info.url:
        return info.decode_url
    path = local_path(info.decode_url)
    if path is not None and not os.path.exists(path):
        rate = Fraction(*info.remux_rate) if info.remux_rate else None
        remux_to_mkv(info.url, info.decode_url, raw_rate=rate)
    return info.decode_url
