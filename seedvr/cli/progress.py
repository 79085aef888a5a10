"""Progress on stderr for long steps: a rich display on a terminal, throttled plain lines elsewhere.

On a terminal every stage is a bar with elapsed time and ETA. When stderr is a file or a pipe (CI logs,
`2> run.log`, a notebook) a stage prints one line when its count changes, at most every `interval_s`
seconds, plus its first and last count: no redraw floods, no repeated lines.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any

PLAIN_INTERVAL_S = 5.0


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class PlainProgress:
    """`seedvr-clip: restore 3/9 segments (33%), 0:00:12 elapsed, ETA 0:00:24` lines, throttled per stage."""

    def __init__(self, stream: IO[str], prog: str, interval_s: float = PLAIN_INTERVAL_S) -> None:
        self._stream, self._prog, self._interval = stream, prog, interval_s
        self._lock = threading.Lock()
        self._stages: dict[str, dict[str, Any]] = {}

    def note(self, text: str) -> None:
        with self._lock:
            print(f"{self._prog}: {text}", file=self._stream, flush=True)

    def update(self, stage: str, done: int, total: int, unit: str = "") -> None:
        now = time.monotonic()
        with self._lock:
            st = self._stages.setdefault(stage, {"start": now, "done": None, "printed": -1e9, "unit": unit})
            if done == st["done"]:
                return
            st["done"] = done
            final = done >= total
            if not final and st["printed"] > -1e9 and now - st["printed"] < self._interval:
                return
            st["printed"] = now
            elapsed = now - st["start"]
            pct = f" ({100 * done // max(total, 1)}%)" if total else ""
            line = f"{self._prog}: {stage} {done}/{total}{' ' + st['unit'] if st['unit'] else ''}{pct}, " \
                   f"{_clock(elapsed)} elapsed"
            if 0 < done < total:
                line += f", ETA {_clock(elapsed / done * (total - done))}"
            print(line, file=self._stream, flush=True)

    def close(self) -> None:
        pass


class RichProgress:
    """One bar per stage with elapsed time and ETA (rich's TimeRemainingColumn), on stderr."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        # stderr, so that `--json` output on stdout stays machine-readable
        self._console = Console(file=stream, stderr=stream is sys.stderr)
        self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                             console=self._console, transient=False)
        self._bar.start()
        self._tasks: dict[str, Any] = {}

    def note(self, text: str) -> None:
        self._bar.console.print(text, highlight=False)

    def update(self, stage: str, done: int, total: int, unit: str = "") -> None:
        if stage not in self._tasks:
            self._tasks[stage] = self._bar.add_task(f"{stage} {unit}".strip().ljust(16), total=total)
        self._bar.update(self._tasks[stage], completed=done, total=total)

    def close(self) -> None:
        self._bar.stop()


class QuietProgress:
    def note(self, text: str) -> None:
        pass

    def update(self, stage: str, done: int, total: int, unit: str = "") -> None:
        pass

    def close(self) -> None:
        pass


def make_progress(prog: str, *, quiet: bool = False, stream: IO[str] | None = None,
                  interval_s: float = PLAIN_INTERVAL_S) -> PlainProgress | RichProgress | QuietProgress:
    stream = stream or sys.stderr
    if quiet:
        return QuietProgress()
    if stream.isatty():
        return RichProgress(stream)
    return PlainProgress(stream, prog, interval_s)
