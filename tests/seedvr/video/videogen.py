"""Tiny generated test videos (CFR/VFR, rotation, odd sizes, 10-bit, AAC audio, MPEG-TS, raw H.264)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np


def clip_frames(n: int, h: int, w: int, *, dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    """Deterministic frames with texture and motion, so codecs and seeks have something to get wrong."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = rng.integers(0, 64, (h, w, 3))
    out = np.empty((n, h, w, 3), dtype=np.float64)
    for t in range(n):
        out[t, ..., 0] = (xx * 4 + t * 7) % 192
        out[t, ..., 1] = (yy * 5 + t * 3) % 160
        out[t, ..., 2] = ((xx + yy + t * 11) % 64) * 3
    out += base
    if dtype == np.uint16:
        return (out * 256).astype(np.uint16)
    return out.astype(np.uint8)


def _fast_options(codec: str) -> dict[str, str]:
    """Fast presets that keep B-frames (reordered pts are what seeking and remuxing must get right)."""
    if codec == "libx264":
        return {"preset": "ultrafast", "x264-params": "bframes=2:b-adapt=0"}
    if codec == "libx265":
        return {"preset": "ultrafast", "x265-params": "log-level=error:bframes=2"}
    return {}


def vfr_durations(n: int) -> list[int]:
    """Frame durations in milliseconds with a 200 ms gap: a variable-frame-rate pattern."""
    pattern = [33, 50, 17, 40]
    durs = [pattern[i % len(pattern)] for i in range(n)]
    if n > 10:
        durs[10] = 200
    return durs


def make_clip(
    path: str,
    *,
    n: int = 32,
    w: int = 64,
    h: int = 48,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    rate: int = 25,
    vfr: bool = False,
    rotation: int = 0,
    audio: bool = False,
    fmt: str | None = None,
    color: tuple[int, int, int, int] | None = None,
    gop: int = 8,
    seed: int = 0,
    encode_matrix: str | None = None,
    subtitles: bool = False,
    x265_params: str = "",
) -> np.ndarray:
    """Write a clip and return the RGB frames that were fed to the encoder."""
    ten_bit = "10" in pix_fmt
    frames = clip_frames(n, h, w, dtype=np.uint16 if ten_bit else np.uint8, seed=seed)
    c = av.open(path, "w", format=fmt)
    opts = _fast_options(codec)
    if x265_params:
        opts["x265-params"] += ":" + x265_params
    s = c.add_stream(codec, rate=rate, options=opts)
    s.width, s.height, s.pix_fmt = w, h, pix_fmt
    s.codec_context.gop_size = gop
    if vfr:
        s.time_base = Fraction(1, 1000)
        s.codec_context.time_base = Fraction(1, 1000)
    if rotation:
        s.set_display_rotation(rotation)
    matrix, rng_, prim, trc = color or (1, 1, 1, 1)
    s.codec_context.colorspace = matrix
    s.codec_context.color_range = rng_
    s.codec_context.color_primaries = prim
    s.codec_context.color_trc = trc
    a = None
    if audio:
        a = c.add_stream("aac", rate=16000)
        a.layout = "mono"
    sub = c.add_mux_stream("subrip") if subtitles else None
    pts = 0
    durs = vfr_durations(n)
    for t in range(n):
        src = av.VideoFrame.from_ndarray(frames[t], format="rgb48le" if ten_bit else "rgb24")
        sws = encode_matrix or {1: "itu709", 6: "smpte170m", 5: "itu601", 9: "bt2020"}.get(matrix, "itu601")
        f = src.reformat(format=pix_fmt, dst_colorspace=sws, dst_color_range="JPEG" if rng_ == 2 else "MPEG")
        if vfr:
            f.pts, f.time_base = pts, Fraction(1, 1000)
            pts += durs[t]
        else:
            f.pts = t
        for p in s.encode(f):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    if a is not None:
        seconds = (pts / 1000) if vfr else n / rate
        samples = int(seconds * 16000)
        tone = (0.3 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 16000)).astype(np.float32)
        for i in range(0, samples, 1024):
            chunk = tone[i : i + 1024][None, :]
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp", layout="mono")
            af.sample_rate, af.pts = 16000, i
            for p in a.encode(af):
                c.mux(p)
        for p in a.encode():
            c.mux(p)
    if sub is not None:
        for i, text in enumerate((b"first line", b"second line")):
            pkt = av.Packet(text)
            pkt.stream, pkt.time_base = sub, Fraction(1, 1000)
            pkt.pts = pkt.dts = 400 * i
            pkt.duration = 300
            c.mux(pkt)
    c.close()
    return frames


def make_audio_only(path: str, seconds: float = 0.5) -> None:
    c = av.open(path, "w")
    a = c.add_stream("aac", rate=16000)
    a.layout = "mono"
    samples = int(seconds * 16000)
    for i in range(0, samples, 1024):
        af = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        af.sample_rate, af.pts = 16000, i
        for p in a.encode(af):
            c.mux(p)
    for p in a.encode():
        c.mux(p)
    c.close()


def make_duplicate_pts(path: str, pts: tuple[int, ...] = (0, 1, 1, 2, 3)) -> None:
    """An MKV whose packets repeat a timestamp (broken muxing seen in the wild)."""
    c = av.open(path, "w")
    s = c.add_stream("ffv1", rate=25)
    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    for i in range(len(pts)):
        arr = np.full((48, 64, 3), i * 20, np.uint8)
        f = av.VideoFrame.from_ndarray(arr, format="rgb24").reformat(format="yuv420p")
        f.pts = i
        for pkt in s.encode(f):
            pkt.pts = pkt.dts = pts[pkt.pts]
            c.mux(pkt)
    for pkt in s.encode():
        c.mux(pkt)
    c.close()
