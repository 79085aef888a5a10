"""Run untrusted native work (FFmpeg demuxing/decoding) in a child process with a timeout and memory cap.

Why a child: on the embedded engine UDFs are threads of the driver, so a segfault in a demuxer or a
runaway allocation would take the whole job down. Why a fresh interpreter (`python -m
seedvr.video._child`) rather than `multiprocessing`: forking a threaded process is unsafe, and the
spawn/forkserver start methods re-import the caller's `__main__` in every child (a Spark driver
script, a notebook, a benchmark that imports torch: seconds per call and possible side effects).
The child reads `(fn, args, kwargs)` from stdin and writes its pickled result to a private pipe.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from seedvr import errors
from seedvr.errors import CorruptVideoError, ProbeTimeoutError, SeedVRError, VideoTooLargeError


def _rebuild(name: str, message: str) -> SeedVRError:
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, SeedVRError)):
        cls = CorruptVideoError
    return cls(message)


def _child_env() -> dict[str, str]:
    """The caller's environment plus its import path, so the child imports the same `seedvr`."""
    env = dict(os.environ)
    paths = [p for p in sys.path if p and os.path.isdir(p)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    # BLAS thread pools reserve address space per core at import; under RLIMIT_AS on a many-core host
    # that alone can exhaust the cap, and the child does no linear algebra.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def _read_all(fd: int, deadline: float) -> bytes | None:
    """Read until EOF or the deadline; None on timeout."""
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def run_isolated(
    fn: Callable[..., Any],
    *args: Any,
    what: str,
    timeout_s: float = 60.0,
    max_memory_mb: int | None = 4096,
    **kwargs: Any,
) -> Any:
    """Call the picklable, module-level `fn(*args, **kwargs)` in a child process and return its result.

    `what` names the input in error messages. Timeout -> ProbeTimeoutError; a native crash
    (signal) -> CorruptVideoError; a memory blow-up -> VideoTooLargeError.
    """
    payload = pickle.dumps((fn, args, kwargs))
    r, w = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "seedvr.video._child", str(w), str(int(max_memory_mb or 0))],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, pass_fds=(w,), env=_child_env(),
            close_fds=True,
        )
    finally:
        os.close(w)
    try:
        assert proc.stdin is not None
        try:
            proc.stdin.write(payload)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # the child died at start; its exit status tells why
        data = _read_all(r, time.monotonic() + timeout_s)
    finally:
        os.close(r)
    if data is None:
        proc.kill()
        proc.wait()
        raise ProbeTimeoutError(
            f"{what}: probing took longer than {timeout_s:g} s and was stopped; the file may be "
            "damaged or on a stalled mount; retry, or raise timeout_s for very long files"
        )
    try:
        code = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    if data:
        status, *body = pickle.loads(data)
        if status == "ok":
            return body[0]
        name, message = body
        if not message.startswith(what):
            message = f"{what}: {message}"
        raise _rebuild(name, message)
    if code < 0:
        sig = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        if -code == signal.SIGKILL:
            raise VideoTooLargeError(
                f"{what}: the reader was killed ({sig}), most likely for memory; the file is too large "
                f"for the {max_memory_mb} MB cap or damaged"
            )
        raise CorruptVideoError(
            f"{what}: the decoder crashed ({sig}); the file is probably corrupt: re-encode or re-upload it"
        )
    raise CorruptVideoError(f"{what}: the reader exited with status {code} without a result; the file is unreadable")
