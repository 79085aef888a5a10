"""Work done ahead of its consumer in a thread, with a bounded queue: the restorer ahead of the stitcher in
`seedvr-clip`, segment decoding ahead of the encoder in every stitch.

PyAV, numpy and torch release the GIL in their heavy calls, so a decoder thread and the encoder overlap;
the queue's bound is what the read-ahead may hold in memory.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

# How long stopping waits for the thread to finish its current step before leaving it behind (a daemon).
STOP_JOIN_S = 2.0


class Prefetch:
    """Runs an iterator in a daemon thread, at most `ahead` items in front of the consumer."""

    _DONE = object()

    def __init__(self, items: Iterator[Any], ahead: int = 1, cancel: threading.Event | None = None, *,
                 name: str = "seedvr-ahead") -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, ahead))
        self._cancel = cancel if cancel is not None else threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), name=name, daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._cancel.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, items: Iterator[Any]) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._put(exc)
            return
        self._put(self._DONE)

    def stopped_error(self) -> BaseException:
        """What `get` raises once `should_stop` says so."""
        return RuntimeError("stopped")

    def get(self, should_stop: Callable[[], bool] = lambda: False) -> Any:
        """The next item; polls, so that a Ctrl-C or a cancel reaches the consumer within 0.1 s."""
        while True:
            if should_stop():
                raise self.stopped_error()
            try:
                item = self._queue.get(timeout=0.1)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise RuntimeError("the producer thread stopped without a result") from None
        if isinstance(item, BaseException):
            raise item
        if item is self._DONE:
            raise RuntimeError("the producer finished early")
        return item

    def close(self, timeout: float = STOP_JOIN_S) -> bool:
        """Ask the producer to stop and wait at most `timeout` s; True when it has ended.

        A call in progress (a restorer step, a decode) cannot be interrupted halfway, so a thread still
        inside one is left to finish on its own: it is a daemon and hands nothing more over.
        """
        self._cancel.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()


class SegmentsAhead:
    """`open_segment(k)` for k = 0, 1, ... decoded in one thread, at most `frames` frames ahead of the
    consumer; `open(k)` is a drop-in `open_segment` for `blend_stream`, which opens segments in order.

    A segment's error (a damaged file, a failed read) is raised by `open(k)` where that segment's frames
    would have come, so it fails the stitch exactly as a direct read would.
    """

    def __init__(self, open_segment: Callable[[int], Iterator[Any]], count: int, frames: int = 4) -> None:
        self._end = object()
        self._next = 0

        def produce() -> Iterator[tuple[int, Any]]:
            for k in range(count):
                for frame in open_segment(k):
                    yield k, frame
                yield k, self._end

        self._feed = Prefetch(produce(), ahead=frames, name="seedvr-segment-reader")

    def open(self, k: int) -> Iterator[Any]:
        if k != self._next:
            raise RuntimeError(f"segment {k} opened out of order (expected {self._next})")
        self._next += 1
        return self._frames(k)

    def _frames(self, k: int) -> Iterator[Any]:
        while True:
            j, item = self._feed.get()
            if j != k:
                raise RuntimeError(f"segment {j} arrived while segment {k} was being read")
            if item is self._end:
                return
            yield item

    def close(self) -> None:
        self._feed.close()

    def __enter__(self) -> SegmentsAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
