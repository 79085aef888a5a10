"""The overlapped read / compute / write stages: order, failures per item, bounded look-ahead, overlap."""

from __future__ import annotations

import threading
import time

import pytest

from udfs.overlap import Failed, overlapped


def test_results_keep_the_input_order_and_each_stage_sees_the_previous_one() -> None:
    out = list(overlapped(iter(range(20)), lambda i: i * 10, lambda i, r: r + 1, lambda i, c: (i, c)))
    assert out == [(i, i * 10 + 1) for i in range(20)]


def test_a_failure_in_one_stage_is_that_items_result_only() -> None:
    def read(i: int) -> int:
        if i == 2:
            raise ValueError("bad input 2")
        return i

    def compute(i: int, r: int) -> int:
        if i == 4:
            raise RuntimeError("out of memory on 4")
        return r

    def write(i: int, c: object) -> str:
        return f"failed: {c.error}" if isinstance(c, Failed) else f"ok {c}"

    assert list(overlapped(iter(range(6)), read, compute, write)) == [
        "ok 0", "ok 1", "failed: bad input 2", "ok 3", "failed: out of memory on 4", "ok 5"]


def test_reading_stays_at_most_one_item_ahead_of_the_computation() -> None:
    lead: list[int] = []
    computed = [0]
    lock = threading.Lock()

    def read(i: int) -> int:
        with lock:
            lead.append(i - computed[0])
        return i

    def compute(i: int, r: int) -> int:
        time.sleep(0.01)
        with lock:
            computed[0] += 1
        return r

    list(overlapped(iter(range(12)), read, compute, lambda i, c: c))
    # The item being computed, the one queued and the one in the reader's hands.
    assert max(lead) <= 2


def test_the_next_read_and_the_previous_write_run_while_an_item_computes() -> None:
    n = 6
    read_started = [threading.Event() for _ in range(n)]
    compute_started = [threading.Event() for _ in range(n)]
    seen: dict[str, list[bool]] = {"read ahead": [], "write behind": []}

    def read(i: int) -> int:
        read_started[i].set()
        return i

    def compute(i: int, r: int) -> int:
        compute_started[i].set()
        if i + 1 < n:  # a serial pipeline would not read item i + 1 before computing item i
            seen["read ahead"].append(read_started[i + 1].wait(timeout=10))
        return r

    def write(i: int, c: int) -> int:
        if i + 1 < n:  # ... nor compute item i + 1 while item i is being written
            seen["write behind"].append(compute_started[i + 1].wait(timeout=10))
        return c

    assert list(overlapped(iter(range(n)), read, compute, write)) == list(range(n))
    assert seen == {"read ahead": [True] * (n - 1), "write behind": [True] * (n - 1)}


def test_a_failing_input_stream_ends_with_its_error_after_the_items_before_it() -> None:
    def items():
        yield 1
        yield 2
        raise OSError("the engine's input broke")

    gen = overlapped(items(), lambda i: i, lambda i, r: r, lambda i, c: c)
    got = []
    with pytest.raises(OSError, match="input broke"):
        for v in gen:
            got.append(v)
    assert got == [1, 2]
