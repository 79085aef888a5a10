"""The few seedvr.video calls the executors make, in one place: read a window, name and write a segment.

Keys are deterministic functions of (output root, file version, video id, config hash, segment index),
so a retried task overwrites its own earlier attempt and never another segment's file; the file version
in the key keeps an edited source's segments apart from the old ones. Catalog-derived parts are sanitised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from seedvr.video.decode import DecodeLimits


def read_window(uri: str, start: int, stop: int, info: dict[str, Any], limits: DecodeLimits) -> np.ndarray:
    """Frames [start, stop) of `uri`, exact, using the probe's frame table; decoded in a sandboxed worker."""
    from seedvr.video.decode import read_frames_isolated
    from seedvr.video.info import VideoInfo

    return read_frames_isolated(uri, start, stop, VideoInfo.from_dict(info), limits, threads=1)


def intermediate_url(output_root: str, config_hash: str, video_id: str, file_version: str, index: int) -> str:
    from seedvr.video.intermediate import segment_key
    from seedvr.video.storage import join_url, sanitize_key_component

    root = join_url(output_root, "segments", sanitize_key_component(file_version))
    return segment_key(root, video_id, config_hash, index)


def write_segment(url: str, frames: np.ndarray, info: dict[str, Any]) -> str:
    """Write the lossless intermediate atomically; returns its sha256."""
    from seedvr.video.intermediate import write_segment as _write

    return _write(url, frames, metadata={"source": info.get("url", "")}, threads=1).sha256


def output_url(output_root: str, config_hash: str, video_id: str, file_version: str) -> str:
    """Final video key: `<root>/videos/<config_hash>/<video_id>/<file_version>.mp4`."""
    from seedvr.video.storage import join_url
    from seedvr.video.storage import sanitize_key_component as k

    return join_url(output_root, "videos", k(config_hash), k(video_id), f"{k(file_version)}.mp4")
