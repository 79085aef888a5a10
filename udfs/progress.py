"""Process-local progress counters that UDFs tick and the driver's progress bars read.

On the embedded engine UDFs run as threads of the driver process, so the bars move live; on a cluster
the counters stay on the executors and the driver's bars jump when each stage's results come back.
"""

from __future__ import annotations

import threading
from collections import Counter

_LOCK = threading.Lock()
_COUNTS: Counter[str] = Counter()


def tick(name: str, n: int = 1) -> None:
    with _LOCK:
        _COUNTS[name] += n


def value(name: str) -> int:
    with _LOCK:
        return _COUNTS[name]
