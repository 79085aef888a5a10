"""One clip end to end without Spark: probe -> plan -> read window -> restore -> intermediate -> stitch.

The distributed job runs the same steps on different machines (segments on GPU tasks, the stitch in a
reducer); this sequential version backs the `seedvr-clip` command and the stitching benchmark.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from seedvr import defaults
from seedvr.restorer.seeding import derive_seed
from seedvr.video.ahead import Prefetch
from seedvr.video.decode import iter_frame_views
from seedvr.video.encode import EncodeSettings, container_format
from seedvr.video.info import VideoInfo
from seedvr.video.intermediate import SegmentFile, codec_for_root, iter_segment, segment_key, write_segment
from seedvr.video.plan import Segment, plan_segments
from seedvr.video.probe import probe
from seedvr.video.stitch import StitchResult, blend_stream, encode_stream

Progress = Callable[[str, int, int], None]  # (stage, done, total)


class ClipCancelled(Exception):
    """`restore_clip` stopped because its `cancel` event was set; nothing was written."""


class _Restorer(Protocol):
    @property
    def info(self) -> Any: ...

    def restore(self, frames: np.ndarray, *, seed: int, target: Any = None) -> np.ndarray: ...


@dataclass(frozen=True)
class ClipJob:
    """Everything that decides the output besides the restorer itself."""

    segment_frames: int = defaults.SEGMENT_FRAMES
    context_frames: int = defaults.CONTEXT_FRAMES
    blend: str = defaults.BLEND
    seed: int = defaults.SEED
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
    prepared: Any = None  # seedvr.video.prepared.PreparedSource when the source was analysed


def segment_windows(info: VideoInfo, segments: Sequence[Segment]) -> Iterator[np.ndarray]:
    """Each segment's input window, from one sequential decode of the source.

    A task that restores one segment seeks (`read_frames`) and decodes from the previous keyframe;
    done for every segment in one process, that would decode up to a GOP per segment for nothing,
    plus the context frames twice. Here every frame is decoded once, straight from the decoder's buffer
    into its window (one copy); a window's context frames are copied from the previous window.
    """
    views = iter_frame_views(info.url, 0, info.num_frames, info) if segments else iter(())
    prev: np.ndarray | None = None
    prev_start = 0
    decoded = 0  # frames taken from the decoder so far
    for s in segments:
        window: np.ndarray | None = None
        for j, f in enumerate(range(s.window_start, s.last_output + 1)):
            if prev is not None and prev_start <= f < prev_start + len(prev):
                frame = prev[f - prev_start]
            else:
                while decoded < f:  # frames no window holds
                    next(views)
                    decoded += 1
                frame = next(views)
                decoded += 1
            if window is None:
                window = np.empty((s.window_frames, *frame.shape), frame.dtype)
            window[j] = frame
        assert window is not None
        prev, prev_start = window, s.window_start
        yield window


def iter_restored_segments(
    info: VideoInfo,
    segments: Sequence[Segment],
    restorer: _Restorer,
    root: str,
    *,
    job: ClipJob,
    video_id: str,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
    should_stop: Callable[[], bool] | None = None,
    digest: bool = True,
) -> Iterator[SegmentFile]:
    """Restore every segment window and write it as a lossless intermediate under `root`, in order.

    `should_stop` is asked before each segment and before each write: once true, nothing more is started.
    `digest=False` records no sha256: for files the same process reads back, checked by size.
    """
    cfg = job.config_hash(dict(restorer.info))
    codec = codec_for_root(root, job.intermediate_codec)
    t = timings if timings is not None else {}
    windows = segment_windows(info, segments)
    stopped = should_stop or (lambda: False)
    for s in segments:
        if stopped():
            return
        t0 = time.perf_counter()
        frames = next(windows)
        t1 = time.perf_counter()
        restored = restorer.restore(frames, seed=derive_seed(video_id, s.index, job.seed), target=job.target)
        del frames
        t2 = time.perf_counter()
        if stopped():
            return
        sf = write_segment(segment_key(root, video_id, cfg, s.index), restored, codec=codec,
                           metadata={"window_start": s.window_start, "first_output": s.first_output,
                                     "last_output": s.last_output}, digest=digest)
        del restored
        t3 = time.perf_counter()
        for k, v in (("decode", t1 - t0), ("restore", t2 - t1), ("write_segments", t3 - t2)):
            t[k] = t.get(k, 0.0) + v
        if progress is not None:
            progress("restore", s.index + 1, len(segments))
        yield sf


def restore_segments(info: VideoInfo, segments: Sequence[Segment], restorer: _Restorer, root: str, *,
                     job: ClipJob, video_id: str, progress: Progress | None = None,
                     timings: dict[str, float] | None = None) -> list[SegmentFile]:
    """All segments at once (what one GPU task per segment does in the distributed job)."""
    return list(iter_restored_segments(info, segments, restorer, root, job=job, video_id=video_id,
                                       progress=progress, timings=timings))


class _Prefetch(Prefetch):
    """The restorer (GPU) works on segment k+1 while the stitcher (CPU) blends and encodes segment k."""

    def stopped_error(self) -> BaseException:
        return ClipCancelled("cancelled")


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
    cancel: threading.Event | None = None,
    prepared: Any = None,
    seal: Any = None,
) -> ClipResult:
    """Restore one file or URL into `output_url`. Segments go under `work_dir` (a temp dir by default).

    Restoring (decode, restorer, intermediate write) runs one segment ahead of stitching, in a thread.
    `seconds["stitch"]` is the wall time from the first stitched frame on, overlapping the restore.
    Setting `cancel` (from any thread) stops both within a frame or a segment and raises `ClipCancelled`;
    the output is written atomically, so a stopped run leaves none behind.

    `prepared` (a `seedvr.video.prepared.PreparedSource`) restores its mezzanine instead of the file,
    bounds segments at its shot cuts, sizes the picture so that the full frame meets the target, puts the
    bars back and copies audio and subtitles from the original.

    `seal` (a `seedvr.provenance.seal.Sealer`) signs the output before it appears, with its container tags.
    """
    job = job or ClipJob()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    info = info or probe(input_url)
    timings["probe"] = time.perf_counter() - t0
    carrier = None
    if prepared is not None:
        info, carrier = prepared.info, prepared.source
        job = replace(job, target=prepared.picture_target(job.target),
                      scene_cuts=tuple(sorted({*job.scene_cuts, *prepared.cuts})))
    segments = plan_segments(info.num_frames, job.segment_frames, job.context_frames, job.scene_cuts)
    root = work_dir or tempfile.mkdtemp(prefix="seedvr-clip-")
    vid = video_id or hashlib.sha256(input_url.encode()).hexdigest()[:16]
    fmt = container_format(output_url, job.settings)  # refuse a bad output before restoring anything
    files: list[SegmentFile] = []
    halt = threading.Event()  # set when stitching ends (done, failed or cancelled): start nothing more

    def stopped() -> bool:
        return halt.is_set() or (cancel is not None and cancel.is_set())

    producer = _Prefetch(iter_restored_segments(info, segments, restorer, root, job=job, video_id=vid,
                                                progress=progress, timings=timings, should_stop=stopped,
                                                digest=False),
                         cancel=halt, name="seedvr-restore")

    def open_segment(k: int) -> Iterator[np.ndarray]:
        files.append(producer.get(stopped))
        assert len(files) == k + 1
        # Written by this run into its own scratch a moment ago: the size is checked (no digest is taken).
        return iter_segment(files[k].url, size_bytes=files[k].size_bytes)

    def stitch_progress(done: int, total: int) -> None:
        if stopped():  # checked after every encoded frame
            raise ClipCancelled("cancelled")
        if progress is not None and (done == total or done % 8 == 0):
            progress("stitch", done, total)

    try:
        t1 = time.perf_counter()
        frames = blend_stream(segments, open_segment, num_frames=info.num_frames, blend=job.blend)
        if prepared is not None and prepared.rewritten:
            frames = ((i, prepared.finish(f)) for i, f in frames)
        result = encode_stream(info, frames, output_url, settings=job.settings, fmt=fmt, blend=job.blend,
                               progress=stitch_progress, streams_from=carrier,
                               tags=getattr(seal, "tags", None), seal=seal)
        timings["stitch"] = time.perf_counter() - t1
    finally:
        producer.close()
        if work_dir is None and not keep_segments:
            shutil.rmtree(root, ignore_errors=True)
    timings["total"] = time.perf_counter() - t0
    return ClipResult(info=info, segments=tuple(segments), segment_files=tuple(files), stitch=result,
                      seconds=timings, prepared=prepared)
