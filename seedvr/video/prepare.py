"""Restore the picture, not its carrier: turn an analysed archive file into progressive, square-pixel
frames of its active picture, before any model sees it.

A diffusion restorer invents detail in whatever it is given: in combing, in the edge of a black bar, in a
picture stretched by non-square pixels. So the source is first rewritten, once per file version, as a
lossless mezzanine (FFV1 in Matroska, the source's pixel format and colour tags, new timestamps) by one
FFmpeg filter chain through PyAV:

1. interlaced: `bwdif` (every frame, since the pictures decided, not the flags), one frame per field by
   default (50i -> 50p) or one per frame (`deinterlace="same"`);
2. telecined: `fieldmatch` + `decimate` back to the film frames (29.97 -> 23.976), `bwdif` only on the
   frames fieldmatch still finds combed;
3. bars: `crop` to the active picture (the bars go back, exactly black, at the output scale: `Canvas`);
4. non-square pixels: `scale` to square-pixel geometry (a 720x480 SAR 32:27 frame becomes 854x480), `setsar=1`.

The rest of the pipeline restores the mezzanine as if it were the source; the stitcher takes audio and
subtitles from the original file and puts the bars back (`Canvas.pad`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from seedvr.errors import ConfigError

if TYPE_CHECKING:
    from seedvr.video.analysis import Analysis
    from seedvr.video.decode import DecodeLimits
    from seedvr.video.info import VideoInfo


@dataclass(frozen=True)
class PrepareOptions:
    """What to do with what the analysis found; every choice is recorded with the restoration."""

    deinterlace: Literal["double", "same", "off"] = "double"
    inverse_telecine: bool = True
    bars: Literal["restore", "keep", "drop"] = "restore"  # restore: crop, put exact bars back; drop: no bars
    pixels: Literal["square", "keep"] = "square"

    def __post_init__(self) -> None:
        for name, value, allowed in (("deinterlace", self.deinterlace, ("double", "same", "off")),
                                     ("bars", self.bars, ("restore", "keep", "drop")),
                                     ("pixels", self.pixels, ("square", "keep"))):
            if value not in allowed:
                raise ConfigError(f"prepare.{name} {value!r} is not one of {', '.join(allowed)}")


@dataclass(frozen=True)
class Canvas:
    """The full frame around the restored picture, in the prepared (square-pixel) geometry: the picture's
    size and the bars to put back around it. `pad` scales the bars with the picture."""

    picture: tuple[int, int]  # (width, height) of the prepared picture
    bars: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, bottom, left, right

    @property
    def has_bars(self) -> bool:
        return any(self.bars)

    def scaled_bars(self, out_width: int, out_height: int) -> tuple[int, int, int, int]:
        """Bars for a restored picture of `out_width` x `out_height`: the full frame scaled like the picture
        (rounded to even sides), the difference split between the two bars as in the source."""
        t, b, lft, r = self.bars

        def split(total_src: int, picture_src: int, picture_out: int, lead: int, trail: int) -> tuple[int, int]:
            if not lead + trail:
                return 0, 0
            full = int(round(total_src * picture_out / picture_src / 2)) * 2
            extra = max(0, full - picture_out)
            first = int(round(extra * lead / (lead + trail) / 2)) * 2 if lead and trail else (extra if lead else 0)
            return first, extra - first

        top, bottom = split(self.picture[1] + t + b, self.picture[1], out_height, t, b)
        left, right = split(self.picture[0] + lft + r, self.picture[0], out_width, lft, r)
        return top, bottom, left, right

    def pad(self, frame: np.ndarray, black: int = 0) -> np.ndarray:
        """The restored picture (H, W, 3) inside exact black bars at its scale."""
        if not self.has_bars:
            return frame
        t, b, lft, r = self.scaled_bars(frame.shape[1], frame.shape[0])
        return np.pad(frame, ((t, b), (lft, r), (0, 0)), constant_values=black)


@dataclass(frozen=True)
class Preparation:
    filters: tuple[str, ...]  # the FFmpeg filter chain, in order
    applied: tuple[str, ...]  # what was done, in words, for the restoration row
    rate: Fraction  # output frames per input frame (2 double-rate, 4/5 inverse telecine)
    canvas: Canvas

    @property
    def needed(self) -> bool:
        return bool(self.filters)

    def to_dict(self) -> dict[str, Any]:
        return {"filters": ",".join(self.filters), "applied": list(self.applied), "rate": str(self.rate),
                "picture": list(self.canvas.picture), "bars": list(self.canvas.bars)}


def _even(v: float) -> int:
    return max(2, int(round(v / 2)) * 2)


def plan_preparation(analysis: Analysis, options: PrepareOptions = PrepareOptions()) -> Preparation:
    """The filter chain for one analysed file (pure)."""
    filters: list[str] = []
    applied: list[str] = []
    rate = Fraction(1)
    scan = analysis.scan
    if scan.kind == "telecined" and options.inverse_telecine:
        order = scan.field_order or "tff"
        filters += [f"fieldmatch=order={'tff' if order == 'tff' else 'bff'}:combmatch=full",
                    "bwdif=mode=send_frame:parity=auto:deint=interlaced", "decimate"]
        applied.append("inverse telecine (fieldmatch + decimate)")
        rate = Fraction(4, 5)
    elif scan.kind == "interlaced" and options.deinterlace != "off":
        parity = scan.field_order or "auto"
        mode = "send_field" if options.deinterlace == "double" else "send_frame"
        filters.append(f"bwdif=mode={mode}:parity={parity}:deint=all")
        applied.append(f"deinterlace (bwdif, {parity}, {'double' if mode == 'send_field' else 'same'} rate)")
        rate = Fraction(2) if mode == "send_field" else Fraction(1)
    a = analysis.active
    bars = (0, 0, 0, 0)
    cropped = options.bars in ("restore", "drop") and not a.full
    if cropped:
        filters.append(f"crop={a.width}:{a.height}:{a.x}:{a.y}")
        applied.append(f"active picture {a.width}x{a.height}+{a.x}+{a.y}"
                       + (" (bars put back)" if options.bars == "restore" else " (bars dropped)"))
        b = a.bars()
        bars = (b["top"], b["bottom"], b["left"], b["right"])
    w, h = (a.width, a.height) if cropped else (a.frame_width, a.frame_height)
    sar = analysis.pixels.sar
    if options.pixels == "square" and sar != 1:
        sq = _even(w * sar)
        filters += [f"scale={sq}:{h}:flags=lanczos", "setsar=1"]
        applied.append(f"square pixels (SAR {sar.numerator}:{sar.denominator}, {w}x{h} -> {sq}x{h})")
        bars = (bars[0], bars[1], _even(bars[2] * sar) if bars[2] else 0, _even(bars[3] * sar) if bars[3] else 0)
        w = sq
    if options.bars == "drop":
        bars = (0, 0, 0, 0)
    return Preparation(tuple(filters), tuple(applied), rate, Canvas((w, h), bars))


def prepare_source(url: str, info: VideoInfo, prep: Preparation, out_path: str) -> int:
    """Write the mezzanine: decode `url`, run the chain, encode FFV1 (lossless, the source's pixel format
    and colour tags) with the chain's timestamps; returns the frames written. Runs in this process:
    see `prepare_isolated` for untrusted files."""
    import av

    from seedvr.video.analysis.filters import filter_chain
    from seedvr.video.avutil import open_video
    from seedvr.video.decode import _resolve_url
    from seedvr.video.storage import atomic_write

    n = 0
    with open_video(_resolve_url(url, info)) as c, atomic_write(out_path) as tmp:
        v = c.streams.video[0]
        if info.stream_index < len(c.streams) and c.streams[info.stream_index].type == "video":
            v = c.streams[info.stream_index]
        v.thread_type = "AUTO"
        graph = av.filter.Graph()
        filter_chain(graph, v, prep.filters)
        with av.open(tmp, "w", format="matroska") as out:
            stream = None

            def write(frame: av.VideoFrame) -> None:
                nonlocal stream, n
                if stream is None:
                    stream = out.add_stream("ffv1", rate=_rate(v, prep), options={"level": "3", "slicecrc": "1"})
                    stream.width, stream.height = frame.width, frame.height
                    stream.pix_fmt = frame.format.name
                    stream.time_base = frame.time_base
                    cc, src = stream.codec_context, v.codec_context
                    for attr in ("colorspace", "color_range", "color_primaries", "color_trc"):
                        val = getattr(src, attr, None)
                        if val is not None:
                            setattr(cc, attr, val)
                out.mux(stream.encode(frame))
                n += 1

            def drain() -> None:
                while True:
                    try:
                        write(graph.pull())
                    except (av.BlockingIOError, av.EOFError):
                        return

            for t, frame in enumerate(c.decode(v)):
                if t >= info.num_frames:
                    break
                graph.push(frame)
                drain()
            graph.push(None)
            drain()
            if stream is None:
                raise ConfigError(f"{info.url}: the preparation chain {','.join(prep.filters)} produced no frames")
            out.mux(stream.encode(None))
    return n


def _rate(stream: Any, prep: Preparation) -> Fraction:
    base = stream.average_rate or stream.guessed_rate or Fraction(25)
    return Fraction(base) * prep.rate


def prepare_isolated(url: str, info: VideoInfo, prep: Preparation, out_path: str, limits: DecodeLimits) -> int:
    """`prepare_source` in a sandboxed decoder worker (the source is untrusted; the mezzanine is ours)."""
    from seedvr.video.sandbox import pool_for
    from seedvr.video.storage import check_regular_file

    check_regular_file(url)
    # The whole file passes through: allow a second per frame on top of the window timeout.
    timeout = limits.timeout_s + float(info.num_frames)
    return pool_for(limits.memory_mb).call(prepare_source, url, info, prep, out_path, what=info.url,
                                           timeout_s=timeout)
