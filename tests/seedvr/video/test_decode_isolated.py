"""Windows decoded in the sandboxed pool: equal to in-process decoding, admitted by memory, and a stream
whose size changes mid-way fails with one clear line (not the scaler's bare errno)."""

from __future__ import annotations

import av
import numpy as np
import pytest

from seedvr.errors import ConfigError, CorruptVideoError, VideoTooLargeError
from seedvr.video import sandbox
from seedvr.video.decode import DecodeLimits, read_frames, read_frames_isolated
from seedvr.video.probe import probe


def _ts(path: str, w: int, h: int, n: int, t0: int) -> bytes:
    with av.open(path, "w", format="mpegts") as c:
        s = c.add_stream("libx264", rate=12, options={"preset": "ultrafast"})
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for t in range(n):
            f = av.VideoFrame.from_ndarray(np.full((h, w, 3), 10 * t, np.uint8), format="rgb24")
            f.pts = t0 + t
            c.mux(s.encode(f))
        c.mux(s.encode())
    with open(path, "rb") as f:
        return f.read()


def test_isolated_window_equals_in_process_and_reuses_workers(tmp_path) -> None:
    src = str(tmp_path / "a.ts")
    _ts(src, 48, 32, 12, 0)
    info = probe(src)
    pool = sandbox.pool_for(DecodeLimits().memory_mb)
    started = pool.started
    for a, b in ((0, 5), (4, 9), (8, 12)):
        got = read_frames_isolated(src, a, b, info, DecodeLimits())
        np.testing.assert_array_equal(got, read_frames(src, a, b, info))
    assert pool.started - started <= 1  # one warm worker served every window


def test_window_over_budget_is_refused_before_decoding(tmp_path) -> None:
    src = str(tmp_path / "a.ts")
    _ts(src, 48, 32, 6, 0)
    info = probe(src)
    with pytest.raises(VideoTooLargeError, match="needs 0 MB, over the decode budget"):
        read_frames_isolated(src, 0, 6, info, DecodeLimits(window_mb=0.01, memory_mb=1024))
    with pytest.raises(ConfigError, match="must exceed the window budget"):
        DecodeLimits(window_mb=2048, memory_mb=2048)


def test_size_change_mid_stream_is_one_clear_error(tmp_path) -> None:
    src = tmp_path / "ab.ts"
    src.write_bytes(_ts(str(tmp_path / "a.ts"), 48, 32, 6, 0) + _ts(str(tmp_path / "b.ts"), 64, 48, 6, 6))
    info = probe(str(src))
    with pytest.raises(CorruptVideoError, match="frame size changed mid-stream to 64x48 at frame 6 "
                                                 r"\(probed 48x32\); re-encode"):
        read_frames_isolated(str(src), 0, info.num_frames, info, DecodeLimits())
