"""Run untrusted native work (FFmpeg demuxing/decoding) in a child process with a timeout and memory cap.

Why a child: on the embedded engine UDFs are threads of the driver, so a segfault in a demuxer or a
runaway allocation would take the whole job down. The child is started with `forkserver` (or
`spawn`), never a plain fork of a threaded process. Errors come back as project errors.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

from seedvr import errors
from seedvr.errors import CorruptVideoError, ProbeTimeoutError, SeedVRError, VideoTooLargeError


def _context() -> mp.context.BaseContext:
    if sys.platform.startswith("linux"):
        ctx = mp.get_context("forkserver")
        # Preload the video stack instead of the default `__main__`: children start in milliseconds and
        # scripts without a `__main__` guard are not re-executed. Effective until the server starts.
        ctx.set_forkserver_preload(["seedvr.video.probe"])
        return ctx
    return mp.get_context("spawn")


def _child(conn: Any, fn: Callable[..., Any], args: tuple, kwargs: dict, max_memory_mb: int | None,
           environ: dict[str, str]) -> None:
    # A forkserver child inherits the server's environment from when it started; take the caller's
    # current one (storage credentials and endpoints may have been set since).
    os.environ.clear()
    os.environ.update(environ)
    if max_memory_mb:
        import resource

        limit = int(max_memory_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        result = fn(*args, **kwargs)
        conn.send(("ok", result))
    except MemoryError as exc:
        conn.send(("err", "VideoTooLargeError", f"exceeded the memory cap of {max_memory_mb} MB ({exc})"))
    except SeedVRError as exc:
        conn.send(("err", type(exc).__name__, str(exc)))
    except BaseException as exc:  # noqa: BLE001 - anything else becomes a clear corrupt-input error
        conn.send(("err", "CorruptVideoError", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _rebuild(name: str, message: str) -> SeedVRError:
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, SeedVRError)):
        cls = CorruptVideoError
    return cls(message)


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
    ctx = _context()
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args, kwargs, max_memory_mb, dict(os.environ)), daemon=True)
    proc.start()
    send.close()
    try:
        if not recv.poll(timeout_s):
            proc.kill()
            proc.join(5)
            raise ProbeTimeoutError(
                f"{what}: probing took longer than {timeout_s:g} s and was stopped; the file may be "
                "damaged or on a stalled mount; retry, or raise timeout_s for very long files"
            )
        try:
            status, *payload = recv.recv()
        except EOFError:
            status, payload = "died", []
    finally:
        recv.close()
    proc.join(min(timeout_s, 5.0))
    if proc.is_alive():
        proc.kill()
        proc.join(5)
    if status == "ok":
        return payload[0]
    if status == "err":
        name, message = payload
        if not message.startswith(what):
            message = f"{what}: {message}"
        raise _rebuild(name, message)
    code = proc.exitcode
    if code is not None and code < 0:
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
