"""Segments decoded ahead of the encoder: same frames in the same order, errors where they belong, bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from seedvr.video.ahead import Prefetch, SegmentsAhead


def _segments(sizes: list[int], fail_at: tuple[int, int] | None = None, opened: list[int] | None = None):
    def open_segment(k: int) -> Iterator[tuple[int, int]]:
        if opened is not None:
            opened.append(k)
        for j in range(sizes[k]):
            if (k, j) == fail_at:
                raise ValueError(f"segment {k} is damaged")
            yield k, j
    return open_segment


def test_frames_come_in_order_segment_by_segment() -> None:
    with SegmentsAhead(_segments([3, 1, 4]), 3, frames=2) as ahead:
        got = [list(ahead.open(k)) for k in range(3)]
    assert got == [[(0, 0), (0, 1), (0, 2)], [(1, 0)], [(2, 0), (2, 1), (2, 2), (2, 3)]]


def test_an_error_is_raised_in_the_segment_that_has_it() -> None:
    with SegmentsAhead(_segments([2, 3], fail_at=(1, 2)), 2, frames=8) as ahead:
        assert list(ahead.open(0)) == [(0, 0), (0, 1)]
        frames = ahead.open(1)
        assert next(frames) == (1, 0) and next(frames) == (1, 1)
        with pytest.raises(ValueError, match="segment 1 is damaged"):
            next(frames)


def test_segments_must_be_opened_in_order() -> None:
    with SegmentsAhead(_segments([1, 1]), 2) as ahead, pytest.raises(RuntimeError, match="out of order"):
        ahead.open(1)


def test_the_reader_stays_a_bounded_number_of_frames_ahead() -> None:
    produced: list[int] = []

    def items() -> Iterator[int]:
        for i in range(100):
            produced.append(i)
            yield i

    feed = Prefetch(items(), ahead=3)
    try:
        time.sleep(0.3)
        # the queue holds 3 and the thread blocks holding the 4th
        assert len(produced) <= 4
        assert [feed.get() for _ in range(5)] == [0, 1, 2, 3, 4]
    finally:
        assert feed.close()


def test_closing_early_stops_the_reader_thread() -> None:
    before = {t.name for t in threading.enumerate()}
    ahead = SegmentsAhead(_segments([1000, 1000]), 2, frames=2)
    next(ahead.open(0))
    ahead.close()
    time.sleep(0.3)
    assert not [t for t in threading.enumerate() if t.name == "seedvr-segment-reader" and t.name not in before]
