"""Run one FFmpeg analysis filter (idet, scdet, ...) over decoded frames and read what it writes into
each frame's metadata (`lavfi.*` keys), through PyAV's filter graph: no FFmpeg CLI, no log parsing."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import av


def buffer_source(graph: av.filter.Graph, stream: Any) -> Any:
    """A `buffer` source for a decoded video stream, with its frame rate: filters that work in cadence
    cycles (`decimate`) refuse a source of unknown rate, which PyAV's template buffer has."""
    cc = stream.codec_context
    tb = stream.time_base or Fraction(1, 90000)
    rate = stream.average_rate or stream.guessed_rate or Fraction(25)
    sar = cc.sample_aspect_ratio or Fraction(1)
    return graph.add("buffer", f"video_size={cc.width}x{cc.height}:pix_fmt={cc.pix_fmt}:"
                               f"time_base={tb.numerator}/{tb.denominator}:"
                               f"pixel_aspect={sar.numerator}/{sar.denominator}:"
                               f"frame_rate={rate.numerator}/{rate.denominator}")


def filter_chain(graph: av.filter.Graph, stream: Any, specs: list[str] | tuple[str, ...]) -> None:
    """buffer -> each "name=args" filter in order -> buffersink, configured."""
    chain = [buffer_source(graph, stream)]
    for spec in specs:
        name, _, args = spec.partition("=")
        chain.append(graph.add(name, args) if args else graph.add(name))
    chain.append(graph.add("buffersink"))
    for a, b in zip(chain, chain[1:], strict=False):
        a.link_to(b)
    graph.configure()


class FrameFilter:
    """buffer -> [pre-filter ->] filter -> buffersink, fed frame by frame; `push` returns the metadata of
    the frames that came out (a filter may hold a frame or two back: idet looks one frame ahead)."""

    def __init__(self, template: Any, name: str, args: str = "", pre: tuple[str, str] | None = None) -> None:
        self._graph = av.filter.Graph()
        pre_spec = [f"{pre[0]}={pre[1]}"] if pre is not None else []
        filter_chain(self._graph, template, [*pre_spec, f"{name}={args}" if args else name])

    def push(self, frame: av.VideoFrame | None) -> list[dict[str, str]]:
        self._graph.push(frame)
        return list(self._drain())

    def close(self) -> list[dict[str, str]]:
        """Flush: the metadata of the frames still held back."""
        try:
            return self.push(None)
        except (av.EOFError, ValueError):
            return []

    def _drain(self) -> Iterator[dict[str, str]]:
        while True:
            try:
                out = self._graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            yield dict(out.metadata)
