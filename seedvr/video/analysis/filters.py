"""Run one FFmpeg analysis filter (idet, scdet, ...) over decoded frames and read what it writes into
each frame's metadata (`lavfi.*` keys), through PyAV's filter graph: no FFmpeg CLI, no log parsing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import av


class FrameFilter:
    """buffer -> [pre-filter ->] filter -> buffersink, fed frame by frame; `push` returns the metadata of
    the frames that came out (a filter may hold a frame or two back: idet looks one frame ahead)."""

    def __init__(self, template: Any, name: str, args: str = "", pre: tuple[str, str] | None = None) -> None:
        self._graph = av.filter.Graph()
        src = self._graph.add_buffer(template=template)
        chain = [src]
        if pre is not None:
            chain.append(self._graph.add(*pre))
        chain.append(self._graph.add(name, args) if args else self._graph.add(name))
        chain.append(self._graph.add("buffersink"))
        for a, b in zip(chain, chain[1:], strict=False):
            a.link_to(b)
        self._graph.configure()

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
