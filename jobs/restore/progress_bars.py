"""Driver-side progress bars (segments, videos) fed by the UDFs' process-local counters."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from udfs import progress


class _Bar:
    def __init__(self, name: str, total: int, show: bool) -> None:
        self.name = name
        self.done = 0
        self._tqdm: Any = None
        if show and total:
            from tqdm.auto import tqdm

            self._tqdm = tqdm(total=total, desc=name, unit=name.rstrip("s"), leave=True)

    def set(self, advance: int) -> None:
        """Mark `advance` more items done (after an action returned), whatever the counters saw."""
        self.done += advance
        if self._tqdm is not None:
            self._tqdm.n = min(self.done, self._tqdm.total)
            self._tqdm.refresh()

    @contextlib.contextmanager
    def follow(self) -> Iterator[None]:
        """While a Spark action runs, mirror the UDF counter (live on the embedded engine)."""
        if self._tqdm is None:
            yield
            return
        base = progress.value(self.name)
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(0.2):
                self._tqdm.n = min(self.done + progress.value(self.name) - base, self._tqdm.total)
                self._tqdm.refresh()

        t = threading.Thread(target=poll, daemon=True)
        t.start()
        try:
            yield
        finally:
            stop.set()
            t.join()

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()


@contextlib.contextmanager
def bar(name: str, total: int, show: bool) -> Iterator[_Bar]:
    b = _Bar(name, total, show)
    try:
        yield b
    finally:
        b.close()
