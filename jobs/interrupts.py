"""One Ctrl-C stops a console script in seconds; a second one forces it.

The driver spends most of a run blocked inside a Spark Connect call (C code), where Python cannot run a
signal handler, so a Ctrl-C would wait for the whole wave. The command therefore runs in a worker thread
while the main thread only waits: the main thread takes the KeyboardInterrupt at once, asks the engine to
cancel what it runs (bounded), prints one line and leaves without waiting for the engine to shut down.

Nothing finished is lost by leaving this way: segment files, staged rows and Delta commits are each
written atomically, so the next run of the same command resumes from them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

# How long the engine may take to acknowledge a cancel before the process leaves anyway.
CANCEL_GRACE_S = 5.0
# How long the command's own thread may take to unwind after the cancel (its finally blocks).
UNWIND_GRACE_S = 3.0

_cancels: list[Callable[[], object]] = []


@contextlib.contextmanager
def on_interrupt(cancel: Callable[[], object]) -> Iterator[None]:
    """Register `cancel` (e.g. the session's interruptAll) for as long as the block runs."""
    _cancels.append(cancel)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            _cancels.remove(cancel)


def _cancel_all(grace_s: float) -> None:
    def run() -> None:
        for cancel in list(_cancels):
            with contextlib.suppress(Exception):
                cancel()

    t = threading.Thread(target=run, name="seedvr-cancel", daemon=True)
    t.start()
    t.join(grace_s)


def _watchdog(delay_s: float, code: int) -> None:
    timer = threading.Timer(delay_s, os._exit, (code,))
    timer.daemon = True
    timer.start()


def _silence() -> None:
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)


def _force_exit(code: int) -> None:
    # A worker blocked writing to a full pipe holds the stream's lock, so a flush could wait forever:
    # a watchdog leaves a moment later whatever the flush does.
    _watchdog(1.0, code)
    with contextlib.suppress(Exception):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def run_interruptible(fn: Callable[[], int], *, message: str, code: int) -> int:
    """Run `fn` in a worker thread; on Ctrl-C print `message` once and leave with `code`.

    Outside the main thread (a notebook cell, a test runner's thread) signals cannot be caught there,
    so `fn` simply runs in place.
    """
    if threading.current_thread() is not threading.main_thread():
        return fn()
    result: dict[str, object] = {}

    def work() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the main thread as is
            result["error"] = exc

    t = threading.Thread(target=work, name="seedvr-command", daemon=True)
    t.start()
    try:
        while t.is_alive():
            t.join(0.2)
    except KeyboardInterrupt:
        # A second Ctrl-C while stopping leaves at once.
        signal.signal(signal.SIGINT, lambda *_: _force_exit(code))
        # Whatever happens next (an engine that never answers, a stream that blocks), leave in time.
        _watchdog(CANCEL_GRACE_S + UNWIND_GRACE_S + 2.0, code)
        # Straight to the descriptor: the stream object's lock may be held by the blocked worker.
        os.write(2, (message + "\n").encode())
        _silence()  # the cancelled command's own errors and the engine's shutdown say nothing new
        _cancel_all(CANCEL_GRACE_S)
        t.join(UNWIND_GRACE_S)
        _force_exit(code)
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return int(result["value"])  # type: ignore[arg-type]
