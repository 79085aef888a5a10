"""Driver-side progress (segments, videos) fed by the UDFs' process-local counters.

On a terminal each stage is a bar with elapsed time and ETA. Elsewhere (a Databricks driver log, a file,
a pipe) a stage prints a plain line only when its count has changed, at most every
`SEEDVR_PROGRESS_INTERVAL_S` seconds (default 15), plus its first and last count: the log of a night's run
stays readable. Both come from `seedvr.cli.progress`, shared with `seedvr-clip`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from udfs import progress

INTERVAL_ENV = "SEEDVR_PROGRESS_INTERVAL_S"
DEFAULT_INTERVAL_S = 15.0
# How often the counters of a running Spark action are read; a line is printed only when they changed.
POLL_S = 0.5


def _interval_s() -> float:
    try:
        return max(0.0, float(os.environ.get(INTERVAL_ENV, DEFAULT_INTERVAL_S)))
    except ValueError:
        return DEFAULT_INTERVAL_S


class _Bar:
    def __init__(self, name: str, total: int, show: bool, prog: str) -> None:
        self.name = name
        self.total = total
        self.done = 0
        self._out: Any = None
        if show and total:
            from seedvr.cli.progress import make_progress

            self._out = make_progress(prog, stream=sys.stderr, interval_s=_interval_s())
            self._out.update(name, 0, total)

    def _show(self, done: int) -> None:
        if self._out is not None:
            self._out.update(self.name, min(done, self.total), self.total)

    def set(self, advance: int) -> None:
        """Mark `advance` more items done (after an action returned), whatever the counters saw."""
        self.done += advance
        self._show(self.done)

    @contextlib.contextmanager
    def follow(self) -> Iterator[None]:
        """While a Spark action runs, mirror the UDF counter (live on the embedded engine)."""
        if self._out is None:
            yield
            return
        base = progress.value(self.name)
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(POLL_S):
                self._show(self.done + progress.value(self.name) - base)

        t = threading.Thread(target=poll, name="seedvr-progress", daemon=True)
        t.start()
        try:
            yield
        finally:
            stop.set()
            t.join()

    def close(self) -> None:
        if self._out is not None:
            self._out.close()


@contextlib.contextmanager
def bar(name: str, total: int, show: bool, prog: str = "restore") -> Iterator[_Bar]:
    b = _Bar(name, total, show, prog)
    try:
        yield b
    finally:
        b.close()
