"""Session-wide generated clips: each is written once, on first use, into a temp folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from videogen import make_clip

from seedvr.video.info import VideoInfo
from seedvr.video.probe import probe

MASTER_DISPLAY = "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400"

# name -> (file name, make_clip keyword arguments)
CLIPS: dict[str, tuple[str, dict]] = {
    "cfr_mp4": ("cfr.mp4", {}),
    "cfr_mkv": ("cfr.mkv", {}),
    "vfr_mkv": ("vfr.mkv", {"vfr": True}),
    "vfr_mp4": ("vfr.mp4", {"vfr": True}),
    "rot90_mp4": ("rot90.mp4", {"rotation": 90}),
    "odd_mkv": ("odd.mkv", {"w": 66, "h": 38, "codec": "ffv1", "pix_fmt": "yuv444p"}),
    "hdr10_mkv": ("hdr10.mkv", {"codec": "libx265", "pix_fmt": "yuv420p10le", "color": (9, 1, 9, 16)}),
    "hdr10_md_mkv": ("hdr10_md.mkv", {"codec": "libx265", "pix_fmt": "yuv420p10le", "color": (9, 1, 9, 16), "n": 9,
                                      "x265_params": MASTER_DISPLAY}),
    "audio_mkv": ("audio.mkv", {"audio": True}),
    "audio_mp4": ("audio.mp4", {"audio": True}),
    "subs_mkv": ("subs.mkv", {"audio": True, "subtitles": True}),
    "mpegts": ("clip.ts", {"fmt": "mpegts", "audio": True}),
    "raw_h264": ("clip.h264", {"fmt": "h264"}),
    # Lossless 4:4:4 sources: decoding errors are then colour conversion only.
    "yuv444_709": ("yuv444_709.mkv", {"codec": "ffv1", "pix_fmt": "yuv444p", "n": 4}),
    "untagged_sd": ("untagged_sd.mkv", {"codec": "ffv1", "pix_fmt": "yuv444p", "n": 4, "color": (2, 0, 2, 2)}),
    "untagged_hd": ("untagged_hd.mkv", {"codec": "ffv1", "pix_fmt": "yuv444p", "n": 2, "w": 1280, "h": 720,
                                        "color": (2, 0, 2, 2), "encode_matrix": "itu709"}),
    "ten_bit_444": ("ten444.mkv", {"codec": "ffv1", "pix_fmt": "yuv444p10le", "n": 4, "color": (9, 1, 9, 16)}),
}


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def clip(clip_dir: Path) -> Callable[[str], str]:
    """`clip(name)` returns the path of a generated clip from CLIPS."""
    made: dict[str, str] = {}

    def get(name: str) -> str:
        if name not in made:
            fname, kwargs = CLIPS[name]
            path = str(clip_dir / fname)
            make_clip(path, **kwargs)
            made[name] = path
        return made[name]

    return get


@pytest.fixture(scope="session")
def probed(clip: Callable[[str], str]) -> Callable[[str], VideoInfo]:
    """`probed(name)`: the probe of a generated clip, cached (VideoInfo is frozen, so sharing is safe)."""
    cache: dict[str, VideoInfo] = {}

    def get(name: str) -> VideoInfo:
        if name not in cache:
            cache[name] = probe(clip(name))
        return cache[name]

    return get


@pytest.fixture(scope="session")
def clip_frames(clip_dir: Path) -> Callable[[str], np.ndarray]:
    """The RGB frames that were fed to the encoder for a clip (regenerated deterministically)."""
    from videogen import clip_frames as frames_of

    def get(name: str) -> np.ndarray:
        _, kw = CLIPS[name]
        ten = "10" in kw.get("pix_fmt", "")
        return frames_of(kw.get("n", 32), kw.get("h", 48), kw.get("w", 64), dtype=np.uint16 if ten else np.uint8)

    return get
