"""Odd frame sizes keep every pixel: a 333x197 source comes back 333x197 at scale 1 (encoded 4:4:4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import av
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _odd_source(path: str, w: int = 333, h: int = 197, frames: int = 9) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    clip = np.stack([np.stack([(xx + 3 * t) % 256, (yy * 2 + t) % 256, (xx + yy) % 256], -1)
                     for t in range(frames)]).astype(np.uint8)
    with av.open(path, "w") as c:
        s = c.add_stream("ffv1", rate=12)
        s.width, s.height, s.pix_fmt = w, h, "bgr0"
        for f in clip:
            c.mux(s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")))
        c.mux(s.encode())
    return clip


def test_odd_size_survives_seedvr_clip_at_scale_1(tmp_path) -> None:
    src, out = str(tmp_path / "odd.mkv"), str(tmp_path / "out.mp4")
    clip = _odd_source(src)
    proc = subprocess.run([sys.executable, "-m", "seedvr.cli.restore_clip", src, out, "--preset", "identity", "--scale", "1",
                           "--segment-frames", "5", "--context-frames", "1", "--encoder-preset", "ultrafast",
                           "--json"], cwd=REPO, env={**os.environ, "PYTHONPATH": REPO}, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout)["size"] == [333, 197]
    with av.open(out) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (333, 197)
        assert v.codec_context.pix_fmt.startswith("yuv444p")
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == len(clip)
    # Lossy but aligned: the picture is the source's, not a shifted or rescaled crop of it.
    err = np.abs(np.stack(frames).astype(np.int16) - clip).mean()
    assert err < 3, err
