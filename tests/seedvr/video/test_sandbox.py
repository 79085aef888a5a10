"""The child-process runner turns crashes, hangs and memory blow-ups into clear project errors."""

from __future__ import annotations

import os
import time

import pytest

from seedvr.errors import CorruptVideoError, ProbeTimeoutError, VideoTooLargeError, error_class_of
from seedvr.video.sandbox import run_isolated


def test_result_comes_back() -> None:
    assert run_isolated(divmod, 17, 5, what="calc") == (3, 2)


def test_native_crash_becomes_corrupt_error() -> None:
    with pytest.raises(CorruptVideoError, match="bad.mp4: the decoder crashed \\(SIGABRT\\)"):
        run_isolated(os.abort, what="bad.mp4")


def test_hang_becomes_timeout_error() -> None:
    with pytest.raises(ProbeTimeoutError, match="slow.mkv") as e:
        run_isolated(time.sleep, 30, what="slow.mkv", timeout_s=1.0)
    assert error_class_of(e.value) == "timeout"


def test_memory_cap_becomes_too_large_error() -> None:
    with pytest.raises(VideoTooLargeError, match="memory cap of 512 MB"):
        run_isolated(bytearray, 2 << 30, what="big.mkv", max_memory_mb=512)


def test_child_errors_keep_their_class() -> None:
    with pytest.raises(CorruptVideoError, match="x.bin: ValueError"):
        run_isolated(int, "not a number", what="x.bin")
