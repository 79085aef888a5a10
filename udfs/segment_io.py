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


def write_segment(url: str, frames: np.ndarray, info: dict[str, Any], codec: str = "utvideo") -> str:
    """Write the lossless intermediate atomically; returns its sha256."""
    from seedvr.video.intermediate import write_segment as _write

    digest = _write(url, frames, metadata={"source": info.get("url", "")}, codec=codec, threads=1).sha256
    assert digest is not None
    return digest


def output_url(output_root: str, config_hash: str, video_id: str, file_version: str) -> str:
    """Final video key: `<root>/videos/<config_hash>/<video_id>/<file_version>.mp4`."""
    from seedvr.video.storage import join_url
    from seedvr.video.storage import sanitize_key_component as k

    return join_url(output_root, "videos", k(config_hash), k(video_id), f"{k(file_version)}.mp4")


# ------------------------------------------------------------------------------------ receipts
# A receipt is written next to a segment file once the file is complete and its digest known. It makes a
# finished segment reusable by the next run even when the wave that produced it was never staged (Ctrl-C,
# a killed driver, a lost executor): a segment is recomputed only when its receipt is missing, describes
# another window or seed, or no longer matches the file's bytes.
RECEIPT_SUFFIX = ".receipt.json"
# Fields that must match the row being restored for a receipt to stand in for the work.
# (The weights are pinned by the config hash in the segment's key.)
RECEIPT_KEYS = ("window_start", "first_output", "last_output", "seed")


def write_receipt(url: str, row: dict[str, Any]) -> None:
    """Record a finished segment (its digest, shape, scores, timings) atomically beside it."""
    import json

    from seedvr.video.storage import atomic_write

    with atomic_write(url + RECEIPT_SUFFIX) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(row, f, sort_keys=True, default=float)


def reusable_segment(url: str, expect: dict[str, Any]) -> dict[str, Any] | None:
    """The receipt of a finished segment at `url` that matches `expect` and the file's bytes, else None."""
    import json

    from fsspec.core import url_to_fs

    from seedvr.video.storage import sha256_url

    try:
        fs, path = url_to_fs(url + RECEIPT_SUFFIX)
        if not fs.exists(path):
            return None
        with fs.open(path, "rb") as f:
            receipt = json.loads(f.read())
        if any(receipt.get(k) != expect.get(k) for k in RECEIPT_KEYS):
            return None
        return receipt if sha256_url(url) == receipt.get("intermediate_sha256") else None
    except Exception:  # noqa: BLE001 - an unreadable receipt or file only means: restore it again
        return None


def video_scratch(output_root: str, config_hash: str, video_id: str, file_version: str) -> str:
    """The folder holding one video's segment files and receipts for one config."""
    return intermediate_url(output_root, config_hash, video_id, file_version, 0).rsplit("/", 1)[0]


def delete_scratch(folder: str) -> int:
    """Delete a video's segment folder (or one file: a mezzanine); returns the bytes freed (0 when it was
    already gone)."""
    from seedvr.video.storage import filesystem

    fs, path = filesystem(folder)
    if not fs.exists(path):
        return 0
    freed = int(fs.du(path, total=True))
    fs.rm(path, recursive=True)
    return freed
