"""The thread budget: concurrent tasks x threads never exceed the cores; explicit values win."""

from __future__ import annotations

import pytest

from seedvr.threads import ENCODE_THREADS_ENV, OPENCV_THREADS_ENV, TORCH_THREADS_ENV, plan_threads


@pytest.mark.parametrize("cores, tasks", [(1, 1), (2, 1), (2, 2), (16, 4), (16, 3), (8, 16), (96, 8)])
def test_tasks_times_threads_never_exceed_the_cores(cores: int, tasks: int) -> None:
    b = plan_threads(tasks, cores=cores)
    assert b.torch >= 1 and b.encode >= 1 and b.decode == 1
    assert tasks * b.torch <= max(cores, tasks) and tasks * b.encode <= max(cores, tasks)
    assert b.opencv == 1  # OpenCV's pool spins: one thread a task unless pinned
    assert b.torch == max(1, cores // tasks)  # and nothing is left idle beyond the rounding


def test_explicit_values_and_the_environment_win(monkeypatch) -> None:
    assert plan_threads(2, cores=16, torch=3, encode=5).as_dict() == {
        "cores": 16, "tasks": 2, "torch": 3, "encode": 5, "decode": 1, "opencv": 1}
    monkeypatch.setenv(TORCH_THREADS_ENV, "6")
    monkeypatch.setenv(ENCODE_THREADS_ENV, "not-a-number")
    b = plan_threads(2, cores=16)
    assert (b.torch, b.encode) == (6, 8)
    assert plan_threads(2, cores=16, torch=2).torch == 2
    monkeypatch.setenv(OPENCV_THREADS_ENV, "3")
    assert plan_threads(2, cores=16).opencv == 3


def test_opencv_pool_follows_the_budget() -> None:
    import cv2

    from seedvr.threads import apply_opencv_threads

    before = cv2.getNumThreads()
    try:
        apply_opencv_threads(1)
        assert cv2.getNumThreads() == 1
        apply_opencv_threads(2)
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)
