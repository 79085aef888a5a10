"""`seedvr-clip` end to end on a tiny generated clip, and its error exits."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

from seedvr.cli.restore_clip import main


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("cli") / "in.mp4")
    with av.open(path, "w") as c:
        s = c.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for t in range(20):
            arr = np.full((48, 64, 3), t * 10, np.uint8)
            c.mux(s.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")))
        c.mux(s.encode())
    return path


def test_identity_restore_with_upscale(small_clip: str, tmp_path, capsys) -> None:
    out = str(tmp_path / "out.mp4")
    rc = main([small_clip, out, "--preset", "identity", "--scale", "2", "--segment-frames", "9", "--context-frames", "2",
               "--encoder-preset", "ultrafast", "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 20 and summary["size"] == [128, 96] and summary["segments"] == 3
    with av.open(out) as c:
        assert sum(1 for _ in c.decode(video=0)) == 20


def test_lossless_needs_mkv_and_bad_segment_length(small_clip: str, tmp_path, capsys) -> None:
    assert main([small_clip, str(tmp_path / "o.mp4"), "--lossless", "--quiet", "--preset", "identity"]) == 2
    assert "needs an .mkv" in capsys.readouterr().err
    assert main([small_clip, str(tmp_path / "o.mkv"), "--segment-frames", "8", "--quiet", "--preset", "identity"]) == 2
    assert "4n+1" in capsys.readouterr().err


def test_missing_and_corrupt_inputs_exit_2(tmp_path, capsys) -> None:
    assert main([str(tmp_path / "absent.mp4"), str(tmp_path / "o.mp4"), "--quiet", "--preset", "identity"]) == 2
    assert "[missing]" in capsys.readouterr().err
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00garbage" * 100)
    assert main([str(bad), str(tmp_path / "o.mp4"), "--quiet", "--preset", "identity"]) == 2
    assert "[corrupt]" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()
