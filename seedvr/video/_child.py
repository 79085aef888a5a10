"""Entry point of an isolated worker: `python -m seedvr.video._child SOCKET_FD MAX_MEMORY_MB`.

The memory cap is set before any request is unpickled (which imports the target's modules), so every
allocation of the native work counts against it. The worker serves calls until its socket closes.
"""

from __future__ import annotations

import mmap
import os
import pickle
import signal
import socket
import struct
import sys
import time
from typing import Any

_HEADER = struct.Struct("!Q")


def _read_exact(sock: socket.socket, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _receive(sock: socket.socket) -> tuple[bytes, int | None] | None:
    """One request: its payload and the shared buffer's descriptor, if one was passed. None at EOF."""
    head, fds, _, _ = socket.recv_fds(sock, _HEADER.size, 1)
    if not head:
        return None
    if len(head) < _HEADER.size:
        rest = _read_exact(sock, _HEADER.size - len(head))
        if rest is None:
            return None
        head += rest
    payload = _read_exact(sock, _HEADER.unpack(head)[0])
    return (payload, fds[0] if fds else None) if payload is not None else None


def _inject_fault(what: str) -> None:
    """Test hook: SEEDVR_DECODE_FAULT="crash:<text>,hang:<text>,..." (see seedvr.video.sandbox.FAULT_ENV)."""
    for spec in os.environ.get("SEEDVR_DECODE_FAULT", "").split(","):
        kind, _, needle = spec.partition(":")
        if needle and needle in what:
            _fault(kind)


def _fault(kind: str) -> None:
    if kind == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif kind == "hang":
        time.sleep(1e6)
    elif kind == "oom":
        bytearray(1 << 40)


def _serve(payload: bytes, fd: int | None, max_memory_mb: int) -> tuple:
    try:
        fn, args, kwargs, what, shape, dtype = pickle.loads(payload)
        _inject_fault(what)
        if fd is None:
            return ("ok", fn(*args, **kwargs))
        import numpy as np

        dt = np.dtype(dtype)
        # Populated at map time: the decoder writes every page, and one bulk allocation beats per-page faults.
        buf = mmap.mmap(fd, int(np.prod(shape)) * dt.itemsize, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0))
        try:
            fn(np.frombuffer(buf, dtype=dt).reshape(shape), *args, **kwargs)
        finally:
            try:
                buf.close()
            except BufferError:
                pass  # a failed call's traceback still holds a view; the mapping goes when it is collected
        return ("ok", None)
    except MemoryError as exc:
        return ("err", "VideoTooLargeError", f"exceeded the memory cap of {max_memory_mb} MB ({exc})")
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent as a project error
        from seedvr.errors import SeedVRError

        if isinstance(exc, SeedVRError):
            return ("err", type(exc).__name__, str(exc))
        return ("err", "CorruptVideoError", f"{type(exc).__name__}: {exc}")
    finally:
        if fd is not None:
            os.close(fd)


def _leave_with_parent(interval_s: float = 1.0) -> None:
    """Exit when the parent process is gone (a Ctrl-C, a kill): an orphaned worker stuck in a decode
    would otherwise live on until its own timeout, holding the parent's stderr open."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        os._exit(0)

    threading.Thread(target=watch, name="seedvr-parent-watch", daemon=True).start()


def main() -> None:
    sock_fd, max_memory_mb = int(sys.argv[1]), int(sys.argv[2])
    _leave_with_parent()
    if max_memory_mb > 0:
        import resource

        limit = max_memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a worker stops
    sock = socket.socket(fileno=sock_fd)
    while True:
        req = _receive(sock)
        if req is None:
            return
        result: Any = _serve(*req, max_memory_mb)
        data = pickle.dumps(result)
        sock.sendall(_HEADER.pack(len(data)) + data)


if __name__ == "__main__":
    main()
