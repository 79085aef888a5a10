"""Entry point of the isolated child: `python -m seedvr.video._child RESULT_FD MAX_MEMORY_MB`.

The memory cap is set before the payload is unpickled (which imports the target's modules), so
every allocation of the native work counts against it.
"""

from __future__ import annotations

import os
import pickle
import sys


def main() -> None:
    result_fd, max_memory_mb = int(sys.argv[1]), int(sys.argv[2])
    if max_memory_mb > 0:
        import resource

        limit = max_memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        fn, args, kwargs = pickle.loads(sys.stdin.buffer.read())
        result: tuple = ("ok", fn(*args, **kwargs))
    except MemoryError as exc:
        result = ("err", "VideoTooLargeError", f"exceeded the memory cap of {max_memory_mb} MB ({exc})")
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the parent as a project error
        from seedvr.errors import SeedVRError

        if isinstance(exc, SeedVRError):
            result = ("err", type(exc).__name__, str(exc))
        else:
            result = ("err", "CorruptVideoError", f"{type(exc).__name__}: {exc}")
    data = pickle.dumps(result)
    with os.fdopen(result_fd, "wb") as out:
        out.write(data)


if __name__ == "__main__":
    main()
