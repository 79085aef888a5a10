"""Write frames to an H.264 MP4 with BT.709 tags and an optional AAC tone, so demos can show audio survive."""

from __future__ import annotations

import filecmp
import os
from pathlib import Path

import av
import numpy as np

from seedvr.errors import InputError
from seedvr.synthetic.degrade import X264_DETERMINISTIC


def _tone(seconds: float, rate: int, hz: float) -> np.ndarray:
    t = np.arange(int(round(seconds * rate)), dtype=np.float32) / rate
    # A tone with a slow amplitude envelope, so a listener (or a checksum) notices if audio is dropped.
    return (0.2 * np.sin(2 * np.pi * hz * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))).astype(np.float32)


def write_mp4(
    frames: np.ndarray,
    path: str | os.PathLike[str],
    fps: int = 25,
    *,
    crf: int = 18,
    preset: str = "veryfast",
    audio: bool = False,
    audio_hz: float = 440.0,
    sample_rate: int = 48_000,
) -> Path:
    """Encode (T, H, W, 3) uint8 RGB as yuv420p BT.709 (limited range) H.264; returns the path.

    Frames are converted with an explicit BT.709 matrix and the stream is tagged, because PyAV otherwise
    converts with BT.601 and leaves the file untagged (players then guess). Written to a temporary name and
    renamed, so a reader never sees half a file. Same frames, same bytes (one thread, MB-tree off), and an
    identical existing file is left untouched.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise InputError(f"write_mp4 expects (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    t, h, w, _ = frames.shape
    if h % 2 or w % 2:
        raise InputError(f"yuv420p needs even sides, got {w}x{h}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with av.open(str(tmp), "w", format="mp4") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.options = {"crf": str(crf), "preset": preset, "threads": "1", "x264-params": X264_DETERMINISTIC}
        cc = v.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 1, 1, 1, 1  # BT.709, limited
        a = None
        if audio:
            a = out.add_stream("aac", rate=sample_rate, layout="mono")
        for f in frames:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            vf = vf.reformat(format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG")
            out.mux(v.encode(vf))
        out.mux(v.encode(None))
        if a is not None:
            pcm = _tone(t / fps, sample_rate, audio_hz)
            step = 1024
            for i in range(0, len(pcm), step):
                chunk = pcm[i:i + step]
                af = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
                af.sample_rate = sample_rate
                af.pts = i
                out.mux(a.encode(af))
            out.mux(a.encode(None))
    if path.is_file() and filecmp.cmp(tmp, path, shallow=False):
        # Same bytes already there: keep the old file so its mtime (part of the catalog's file version)
        # does not change and a re-run of the demo does not look like new videos.
        tmp.unlink()
    else:
        os.replace(tmp, path)
    return path
