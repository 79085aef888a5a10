"""The sequential clip path: one decode pass feeds every window; the whole path is exact when lossless."""

from __future__ import annotations

import os

import numpy as np
import pytest

from seedvr.restorer import IdentityRestorer
from seedvr.video.decode import read_frames
from seedvr.video.encode import EncodeSettings
from seedvr.video.pipeline import ClipJob, restore_clip, segment_windows
from seedvr.video.plan import plan_segments
from seedvr.video.probe import probe


@pytest.mark.parametrize(("seg", "ctx", "cuts"), [(9, 3, ()), (9, 8, ()), (5, 0, ()), (13, 4, (7, 20))])
def test_windows_equal_seeked_reads(probed, seg: int, ctx: int, cuts: tuple[int, ...]) -> None:
    info = probed("vfr_mkv")
    segs = plan_segments(info.num_frames, seg, ctx, cuts)
    windows = list(segment_windows(info, segs))
    assert len(windows) == len(segs)
    for w, s in zip(windows, segs, strict=True):
        assert np.array_equal(w, read_frames(info.url, s.window_start, s.window_stop, info))


@pytest.mark.parametrize("codec", ["auto", "utvideo", "ffv1"])
def test_restore_clip_lossless_is_exact(probed, tmp_path, codec: str) -> None:
    info = probed("audio_mkv")
    out = str(tmp_path / "out.mkv")
    job = ClipJob(segment_frames=9, context_frames=4, settings=EncodeSettings.lossless(), intermediate_codec=codec)
    res = restore_clip(info.url, out, IdentityRestorer(1), job=job, info=info, work_dir=str(tmp_path / "w"))
    assert len(res.segment_files) == len(res.segments) == len(plan_segments(32, 9, 4))
    back = probe(out)
    assert back.pts == info.pts and back.num_frames == 32
    assert np.array_equal(read_frames(out, 0, 32, back), read_frames(info.url, 0, 32, info))
    assert sum(res.stitch.copied_packets.values()) > 0


class _FailingRestorer:
    """Fails on the third segment, as a model running out of memory would."""

    info = {"preset": "failing"}

    def restore(self, frames: np.ndarray, *, seed: int, target: object = None) -> np.ndarray:
        self.calls = getattr(self, "calls", 0) + 1
        if self.calls == 3:
            raise MemoryError("simulated device OOM")
        return frames.copy()


def test_restorer_failure_surfaces_and_leaves_no_output(probed, tmp_path) -> None:
    import threading

    info = probed("cfr_mkv")
    out = tmp_path / "out.mkv"
    job = ClipJob(segment_frames=9, context_frames=2, settings=EncodeSettings.lossless())
    with pytest.raises(MemoryError, match="simulated device OOM"):
        restore_clip(info.url, str(out), _FailingRestorer(), job=job, info=info)
    assert not out.exists() and os.listdir(tmp_path) == []
    assert not any(t.name == "seedvr-restore" for t in threading.enumerate())
