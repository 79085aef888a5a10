"""Ctrl-C for a command whose model runs in a worker thread: one stops it in seconds, a second forces it.

The first SIGINT sets a cancel event (the pipeline checks it between frames and segments) and raises
KeyboardInterrupt in the main thread, which unwinds through the atomic writes. A restorer call in the
worker thread cannot be interrupted halfway; the command leaves it behind and exits with `os._exit`,
because letting the interpreter shut down while a daemon thread is inside torch makes CPython end that
thread with a forced unwind through C++ frames, which aborts the process
("terminate called without an active exception", exit 134).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType

EXIT_INTERRUPTED = 130
# Threads that may be inside native code (torch, FFmpeg) when the command ends.
WORKER_THREAD_NAMES = ("seedvr-restore",)


class SigintGuard:
    """While active in the main thread: the first SIGINT sets `cancel` and raises KeyboardInterrupt, a
    second one exits at once with status 130. Elsewhere (a notebook's worker thread) it does nothing.

    `line` is what the command says when interrupted: `announce()` prints it once, and a forced exit
    prints it when the command had not yet, so either way stderr holds it exactly once. A forced exit
    runs no `finally`: the command lists what must still be undone (a scratch folder) in `on_force`.
    """

    def __init__(self, cancel: threading.Event, line: str | None = None) -> None:
        self.cancel = cancel
        self.count = 0
        self.line = line
        self._announced = False
        self.on_force: list[Callable[[], object]] = []
        # Until the pipeline runs, the main thread may be inside native code (torch's import, a model
        # load), where a KeyboardInterrupt raised from a handler aborts the process through C++
        # ("terminate called ..."): a Ctrl-C then leaves at once; nothing has been written yet.
        self.unwindable = threading.Event()
        self._previous: object = None
        self._active = False

    def announce(self) -> None:
        if self.line is not None and not self._announced:
            self._announced = True
            with contextlib.suppress(Exception):
                print(self.line, file=sys.stderr, flush=True)

    def __enter__(self) -> SigintGuard:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._active = True
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        # Keep the forcing handler until the process leaves: a second Ctrl-C during cleanup still works.
        if self._active and self.count == 0:
            signal.signal(signal.SIGINT, self._previous)  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        self.cancel.set()
        if self.count == 1 and self.unwindable.is_set():
            raise KeyboardInterrupt
        self.announce()
        for undo in self.on_force:
            with contextlib.suppress(Exception):
                undo()
        leave(EXIT_INTERRUPTED, force=True)


def workers_alive() -> bool:
    return any(t.is_alive() and t.name in WORKER_THREAD_NAMES for t in threading.enumerate())


def leave(code: int, *, force: bool = False) -> int:
    """`code` to return normally, or exit the process now when a worker thread is still running
    native code (or when forced): interpreter shutdown must not race it."""
    if force or workers_alive():
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    return code
