"""Three stages over a stream of items, overlapped: read ahead, compute here, write behind.

A restore task spends its time decoding a window (in the sandbox), restoring it (the accelerator) and
writing the result (an encoder and storage). Run one after another, the accelerator idles during the
other two. Here `read` runs in a thread one item ahead and `write` in a thread one item behind, while
`compute` runs in the caller's thread, so the stage takes about as long as its slowest part. Memory is
bounded: at most one item read ahead, one computing and one being written (three windows).

Results come out in input order. Each stage gets the previous stage's result or the exception it
raised, so one bad item becomes one failed result, never a stopped stream.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_END = object()


class Failed(Generic[T]):
    """What a stage passes on when it (or an earlier stage) raised for this item."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - handed to the next stage as this item's failure
        return Failed(exc)


def overlapped(items: Iterator[T], read: Callable[[T], Any], compute: Callable[[T, Any], Any],
               write: Callable[[T, Any], R], *, ahead: int = 1, behind: int = 1) -> Iterator[R]:
    """Yield `write(item, compute(item, read(item)))` for every item, in order, the stages overlapped.

    `read` runs in a reader thread (which also pulls `items`), at most `ahead` items before `compute`;
    `write` runs in a writer thread, at most `behind` items after. A stage's argument is a `Failed` when
    an earlier stage raised. `write` must not raise (it makes the item's result, failed or not).
    Closing the generator stops both threads after their current item.
    """
    ready: queue.Queue[Any] = queue.Queue(maxsize=ahead)
    done: queue.Queue[Any] = queue.Queue(maxsize=behind)
    results: queue.Queue[Any] = queue.Queue()
    stop = threading.Event()

    def put(q: queue.Queue[Any], value: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def reader() -> None:
        try:
            for item in items:
                if stop.is_set() or not put(ready, (item, _call(read, item))):
                    return
        except BaseException as exc:  # noqa: BLE001 - the input itself failed: end the stream with it
            put(ready, (_END, exc))
            return
        put(ready, (_END, None))

    def writer() -> None:
        broken: BaseException | None = None
        while True:
            item, value = done.get()
            if item is _END:
                results.put((_END, broken or value))
                return
            if broken is not None:
                continue  # keep taking items, so that the caller never blocks on a dead writer
            try:
                results.put((item, write(item, value)))
            except BaseException as exc:  # noqa: BLE001 - a broken writer ends the stream after the items in flight
                broken = exc

    threads = [threading.Thread(target=reader, name="seedvr-read-ahead", daemon=True),
               threading.Thread(target=writer, name="seedvr-write-behind", daemon=True)]
    for t in threads:
        t.start()
    try:
        while True:
            item, value = ready.get()
            if item is _END:
                done.put((_END, value))
                break
            done.put((item, value if isinstance(value, Failed) else _call(compute, item, value)))
            yield from _drain(results)
        while True:
            item, value = results.get()
            if item is _END:
                if value is not None:
                    raise value
                return
            yield value
    finally:
        stop.set()


def _drain(results: queue.Queue[Any]) -> Iterator[Any]:
    """The results already written (without waiting), so they leave as soon as they are ready."""
    while True:
        try:
            item, value = results.get_nowait()
        except queue.Empty:
            return
        if item is _END:
            results.put((item, value))  # the final loop sees it
            return
        yield value
