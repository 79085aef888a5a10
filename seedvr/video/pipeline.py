"""One clip end to end without Spark: probe -> plan -> read window -> restore -> intermediate -> stitch.

The distributed job runs the same steps on different machines (segments on GPU tasks, the stitch in a
reducer); this sequential version backs the `seedvr-clip` command and the stitching benchmark.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from seedvr.restorer.seeding import derive_seed
from seedvr.video.decode import iter_frames
from seedvr.video.encode import EncodeSettings
from seedvr.video.info import VideoInfo
from seedvr.video.intermediate import SegmentFile, segment_key, write_segment
from seedvr.video.plan import Segment, plan_segments
from seedvr.video.probe import probe
from seedvr.video.stitch import StitchResult, stitch_video
from seedvr.video.storage import is_local

Progress = Callable[[str, int, int], None]  # (stage, done, total)


class _Restorer(Protocol):
    @property
    def info(self) -> Any: ...

    def restore(self, frames: np.ndarray, *, seed: int, target: Any = None) -> np.ndarray: ...


@dataclass(frozen=True)
class ClipJob:
    """Everything that decides the output besides the restorer itself."""

    segment_frames: int = 33
    context_frames: int = 8
    blend: str = "hann"
    seed: int = 42
    target: Any = None  # seedvr.restorer.TargetSize or None (restorer default)
    settings: EncodeSettings = field(default_factory=EncodeSettings)
    scene_cuts: tuple[int, ...] = ()
    # "auto": uncompressed on local scratch (fastest), UT Video on object stores (a third of the bytes)
    intermediate_codec: str = "auto"

    def config_hash(self, restorer_info: Any = None) -> str:
        """Digest of the job and the restorer's provenance: segment keys change when either does."""
        payload = {"job": asdict(self), "restorer": restorer_info}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ClipResult:
    info: VideoInfo
    segments: tuple[Segment, ...]
    segment_files: tuple[SegmentFile, ...]
    stitch: StitchResult
    seconds: dict[str, float]


def segment_windows(info: VideoInfo, segments: Sequence[Segment]) -> Iterator[np.ndarray]:
    """Each segment's input window, from one sequential decode of the source.

    A task that restores one segment seeks (`read_frames`) and decodes from the previous keyframe;
    done for every segment in one process, that would decode up to a GOP per segment for nothing,
    plus the context frames twice. Here every frame is decoded once and only the frames a later
    window still needs are kept (at most one window).
    """
    frames = iter_frames(info.url, 0, info.num_frames, info) if segments else iter(())
    buffer: list[np.ndarray] = []
    first = 0  # frame index of buffer[0]
    for s in segments:
        drop = s.window_start - first
        if drop > 0:
            del buffer[:drop]
            first = s.window_start
        while first + len(buffer) <= s.last_output:
            buffer.append(next(frames))
        yield np.stack(buffer[s.window_start - first : s.last_output + 1 - first])


def restore_segments(
    info: VideoInfo,
    segments: Sequence[Segment],
    restorer: _Restorer,
    root: str,
    *,
    job: ClipJob,
    video_id: str,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
) -> list[SegmentFile]:
    """Restore every segment window and write it as a lossless intermediate under `root`."""
    cfg = job.config_hash(dict(restorer.info))
    codec = job.intermediate_codec
    if codec == "auto":
        codec = "rawvideo" if is_local(root) else "utvideo"
    files = []
    t = timings if timings is not None else {}
    windows = segment_windows(info, segments)
    for s in segments:
        t0 = time.perf_counter()
        frames = next(windows)
        t1 = time.perf_counter()
        restored = restorer.restore(frames, seed=derive_seed(video_id, s.index, job.seed), target=job.target)
        t2 = time.perf_counter()
        files.append(write_segment(segment_key(root, video_id, cfg, s.index), restored, codec=codec,
                                   metadata={"window_start": s.window_start, "first_output": s.first_output,
                                             "last_output": s.last_output}))
        t3 = time.perf_counter()
        for k, v in (("decode", t1 - t0), ("restore", t2 - t1), ("write_segments", t3 - t2)):
            t[k] = t.get(k, 0.0) + v
        if progress is not None:
            progress("restore", s.index + 1, len(segments))
    return files


def restore_clip(
    input_url: str,
    output_url: str,
    restorer: _Restorer,
    *,
    job: ClipJob | None = None,
    info: VideoInfo | None = None,
    work_dir: str | None = None,
    keep_segments: bool = False,
    video_id: str | None = None,
    progress: Progress | None = None,
) -> ClipResult:
    """Restore one file or URL into `output_url`. Segments go under `work_dir` (a temp dir by default)."""
    job = job or ClipJob()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    info = info or probe(input_url)
    timings["probe"] = time.perf_counter() - t0
    segments = plan_segments(info.num_frames, job.segment_frames, job.context_frames, job.scene_cuts)
    root = work_dir or tempfile.mkdtemp(prefix="seedvr-clip-")
    vid = video_id or hashlib.sha256(input_url.encode()).hexdigest()[:16]
    try:
        files = restore_segments(info, segments, restorer, root, job=job, video_id=vid, progress=progress,
                                 timings=timings)
        t1 = time.perf_counter()

        def stitch_progress(done: int, total: int) -> None:
            if progress is not None and (done == total or done % 8 == 0):
                progress("stitch", done, total)

        result = stitch_video(info, segments, [f.url for f in files], output_url, settings=job.settings,
                              blend=job.blend, checksums=[f.sha256 for f in files], progress=stitch_progress)
        timings["stitch"] = time.perf_counter() - t1
    finally:
        if work_dir is None and not keep_segments:
            shutil.rmtree(root, ignore_errors=True)
    timings["total"] = time.perf_counter() - t0
    return ClipResult(info=info, segments=tuple(segments), segment_files=tuple(files), stitch=result,
                      seconds=timings)
