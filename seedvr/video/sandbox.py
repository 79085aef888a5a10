"""Run untrusted native work (FFmpeg demuxing/decoding) in child processes with a timeout and memory cap.

Why children: on the embedded engine UDFs are threads of the driver, so a segfault in a demuxer or a
runaway allocation would take the whole job down. Why fresh interpreters (`python -m
seedvr.video._child`) rather than `multiprocessing`: forking a threaded process is unsafe, and the
spawn/forkserver start methods re-import the caller's `__main__` in every child (a Spark driver script, a
notebook, a benchmark that imports torch: seconds per call and possible side effects).

Why a pool: starting an interpreter and importing PyAV costs ~0.2 s, as much as decoding a whole window,
so each process keeps a few warm workers per memory cap and reuses them; a worker that crashed, hung
or blew its cap is discarded and the next call starts a new one. Frames come back through a memfd
(an anonymous shared file passed over a Unix socket) that the child decodes into and the parent maps:
no pickling and no copy of the pixels.
"""

from __future__ import annotations

import atexit
import mmap
import os
import pickle
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from seedvr import errors
from seedvr.errors import (
    CorruptVideoError,
    DecoderCrashError,
    ProbeTimeoutError,
    SeedVRError,
    VideoTooLargeError,
)

# Test hook, read by the child: a comma-separated list of "crash:<text>", "hang:<text>" or "oom:<text>"
# makes every call whose input name contains <text> crash (SIGSEGV), hang or exhaust its memory cap.
FAULT_ENV = "SEEDVR_DECODE_FAULT"
_HEADER = struct.Struct("!Q")
# Map the frames with their page tables filled in one call (Linux), rather than one fault per 4 KiB page.
_MAP_FLAGS = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
IDLE_WORKERS_PER_CAP = 4


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


def _env_key() -> int:
    """Workers inherit the environment once, at start; a changed one (new S3 endpoint or keys) needs new ones."""
    return hash(frozenset(os.environ.items()))


def _shared_buffer(nbytes: int) -> int:
    """A file descriptor of `nbytes` of anonymous shared memory (memfd on Linux, an unlinked temp file
    elsewhere)."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("seedvr-frames", 0)
    else:  # pragma: no cover - macOS
        fd, path = tempfile.mkstemp(prefix="seedvr-frames-")
        os.unlink(path)
    os.ftruncate(fd, nbytes)
    return fd


class _WorkerDied(Exception):
    pass


class _Worker:
    """One warm child process and its socket; used by one thread at a time."""

    def __init__(self, max_memory_mb: int, env: dict[str, str]) -> None:
        self.max_memory_mb = max_memory_mb
        self.env_key = _env_key()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "seedvr.video._child", str(child.fileno()), str(max_memory_mb)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, pass_fds=(child.fileno(),),
                env=env, close_fds=True,
            )
        finally:
            child.close()
        self.sock = parent

    def request(self, payload: bytes, fd: int | None, deadline: float) -> bytes:
        """Send one call and wait for its reply; _WorkerDied on EOF, TimeoutError past the deadline."""
        try:
            head = _HEADER.pack(len(payload))
            socket.send_fds(self.sock, [head], [fd] if fd is not None else [])
            self.sock.sendall(payload)
            head = self._read_exact(_HEADER.size, deadline)
            return self._read_exact(_HEADER.unpack(head)[0], deadline)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _WorkerDied from exc

    def _read_exact(self, n: int, deadline: float) -> bytes:
        chunks, got = [], 0
        while got < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
                raise TimeoutError
            chunk = self.sock.recv(min(n - got, 1 << 20))
            if not chunk:
                raise _WorkerDied
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def exit_code(self) -> int:
        """The status of a worker that hung up (it has exited or is about to)."""
        self.sock.close()
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return self.kill()

    def kill(self) -> int:
        self.proc.kill()
        self.sock.close()
        return self.proc.wait()

    def close(self) -> None:
        self.sock.close()  # EOF: the child's loop ends
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class WorkerPool:
    """Warm isolated workers sharing one memory cap; thread-safe (a worker serves one call at a time)."""

    def __init__(self, max_memory_mb: int) -> None:
        self.max_memory_mb = max_memory_mb
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self.started = 0  # workers started over the pool's life (a measure of reuse)

    def _checkout(self) -> _Worker:
        key, stale = _env_key(), []
        with self._lock:
            while self._idle:
                w = self._idle.pop()
                if w.env_key == key:
                    break
                stale.append(w)  # started under another environment (credentials, endpoints): retire it
            else:
                w = None
            if w is None:
                self.started += 1
        for old in stale:
            old.close()
        return w or _Worker(self.max_memory_mb, _child_env())

    def _checkin(self, worker: _Worker) -> None:
        with self._lock:
            if len(self._idle) < IDLE_WORKERS_PER_CAP:
                self._idle.append(worker)
                return
        worker.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for w in idle:
            w.close()

    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        what: str,
        timeout_s: float,
        out_shape: tuple[int, ...] | None = None,
        out_dtype: Any = None,
        **kwargs: Any,
    ) -> Any:
        """`fn(*args, **kwargs)` in a worker; with `out_shape`, `fn(out, *args, **kwargs)` fills a shared
        array of that shape and dtype, which is returned instead of `fn`'s result."""
        fd = None
        nbytes = 0
        if out_shape is not None:
            import numpy as np

            dtype = np.dtype(out_dtype)
            nbytes = int(np.prod(out_shape)) * dtype.itemsize
            fd = _shared_buffer(nbytes)
        try:
            payload = pickle.dumps((fn, args, kwargs, what, out_shape, None if fd is None else dtype.str))
            worker = self._checkout()
            try:
                data = worker.request(payload, fd, time.monotonic() + timeout_s)
            except TimeoutError:
                worker.kill()
                raise ProbeTimeoutError(
                    f"{what}: reading took longer than {timeout_s:g} s and was stopped; the file may be damaged "
                    "or on a stalled mount: retry, or raise the timeout for very long files"
                ) from None
            except _WorkerDied:
                raise _death_error(what, worker.exit_code(), self.max_memory_mb) from None
            except BaseException:
                worker.kill()  # an interrupted call leaves the worker mid-reply: never reuse it
                raise
            self._checkin(worker)
            status, *body = pickle.loads(data)
            if status != "ok":
                name, message = body
                raise _rebuild(name, message if message.startswith(what) else f"{what}: {message}")
            if fd is None:
                return body[0]
            buf = mmap.mmap(fd, nbytes, flags=_MAP_FLAGS)
            return np.frombuffer(buf, dtype=dtype).reshape(out_shape)
        finally:
            if fd is not None:
                os.close(fd)


def _death_error(what: str, code: int, max_memory_mb: int) -> SeedVRError:
    if code < 0:
        sig = signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else str(-code)
        if -code == signal.SIGKILL:
            return VideoTooLargeError(
                f"{what}: the reader was killed ({sig}), most likely for memory; the file is too large for "
                f"the {max_memory_mb} MB cap or damaged"
            )
        return DecoderCrashError(
            f"{what}: the decoder crashed ({sig}); the file is probably corrupt: re-encode or re-upload it"
        )
    return CorruptVideoError(f"{what}: the reader exited with status {code} without a result; the file is unreadable")


_POOLS: dict[int, WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(max_memory_mb: int | None) -> WorkerPool:
    """This process's pool for one memory cap (0 or None: no cap)."""
    cap = int(max_memory_mb or 0)
    with _POOLS_LOCK:
        if cap not in _POOLS:
            _POOLS[cap] = WorkerPool(cap)
        return _POOLS[cap]


@atexit.register
def close_pools() -> None:
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
    for p in pools:
        p.close()


def run_isolated(
    fn: Callable[..., Any],
    *args: Any,
    what: str,
    timeout_s: float = 60.0,
    max_memory_mb: int | None = 4096,
    **kwargs: Any,
) -> Any:
    """Call the picklable, module-level `fn(*args, **kwargs)` in a worker and return its result.

    `what` names the input in error messages. Timeout -> ProbeTimeoutError; a native crash (signal) ->
    DecoderCrashError; a memory blow-up -> VideoTooLargeError.
    """
    return pool_for(max_memory_mb).call(fn, *args, what=what, timeout_s=timeout_s, **kwargs)
