"""Restore segments on executors: `df.mapInPandas(RestoreSegments(settings), SEGMENT_UDF_OUT)`.

Shaped like a Curator stage: `setup()` once per task (device slot + cached model), `process()` per batch,
declared input/output columns, per-row errors in `status`/`error_class`/`error_message`, and idempotent
writes (the intermediate's key is a function of the row, written atomically), so a retried task is harmless.
Only metadata and scores come back: frames are read from storage here and written to storage here.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from seedvr.video.decode import DecodeLimits
from seedvr.video.storage import check_under_roots
from udfs import progress, segment_io
from udfs.devices import cuda_count, device_slot, device_type
from udfs.model_cache import ModelSpec, get_restorer, weights_digest
from udfs.overlap import Failed, overlapped
from udfs.schemas import SEGMENT_UDF_OUT, frame_for
from udfs.stage import failure_columns

# Test hook: SIGKILL the process after it has written this many segment files (kill/resume tests).
KILL_AFTER_SEGMENTS_ENV = "SEEDVR_KILL_AFTER_SEGMENTS"

INPUT_COLUMNS = ("video_id", "uri", "file_version", "info_json", "segment_index", "window_start",
                 "first_output", "last_output")


@dataclass(frozen=True)
class RestoreSettings:
    """Plain values only: pickled to every task."""

    model: ModelSpec
    config_hash: str
    output_root: str
    seed: int = 0
    target: tuple[str, float, int] | None = None  # TargetSize(mode, value, multiple)
    device: str | None = None
    tasks_per_gpu: int = 1
    torch_threads: int | None = None  # None: seedvr.threads' budget for `concurrent_tasks`
    # Restore tasks that run side by side in one executor process (all slots, on the embedded engine).
    concurrent_tasks: int = 1
    score: bool = True
    # Lossless codec of the segment files (seedvr.video.intermediate.codec_for_root, resolved on the driver).
    intermediate_codec: str = "utvideo"
    decode: DecodeLimits = field(default_factory=DecodeLimits)
    # Where sources may be read from, besides each row's own `source_root` (recorded at ingest).
    source_roots: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)


def _target(settings: RestoreSettings) -> Any:
    if settings.target is None:
        return None
    from seedvr.restorer import TargetSize

    mode, value, multiple = settings.target
    return TargetSize(mode, float(value), int(multiple))  # type: ignore[arg-type]


def _row_target(settings: RestoreSettings, canvas_json: Any) -> Any:
    """The run's target, or for a prepared source with bars the target of its picture, so that the
    picture with its bars put back meets the run's target."""
    target = _target(settings)
    if not isinstance(canvas_json, str) or not canvas_json:
        return target
    from seedvr.video.prepared import canvas_of, picture_target

    return picture_target(target, canvas_of(json.loads(canvas_json)))


def segment_scores(source: Any, restored: Any) -> dict[str, float]:
    """Cheap per-segment aggregates (no-reference and input fidelity on a few frames; temporal and seam
    scores are computed per video by the stitcher, where the joins are)."""
    from seedvr.quality import FrameSampler, ScoreConfig, score_clip

    cfg = ScoreConfig(sampler=FrameSampler(max_frames=3), temporal=False)
    agg = score_clip(restored, lq=source, config=cfg).aggregates()
    return {k: float(v) for k, v in agg.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _maybe_kill() -> None:
    limit = os.environ.get(KILL_AFTER_SEGMENTS_ENV)
    if limit and progress.value("segments") >= int(limit):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


# What a receipt carries into the row of a segment that is reused instead of restored again.
_RECEIPT_FIELDS = ("intermediate_sha256", "frames_in", "frames_out", "out_height", "out_width", "scores",
                   "read_s", "restore_s", "write_s", "weights_sha256")


@dataclass
class _Read:
    """A row's first stage: its result row so far, and the decoded window (None once reused)."""

    row: dict[str, Any]
    url: str
    seed: int = 0
    info: dict[str, Any] = field(default_factory=dict)
    frames: Any = None
    t0: float = 0.0
    error: BaseException | None = None  # the stage that failed; the row keeps what was known by then


class RestoreSegments:
    """mapInPandas function; one instance is pickled per task, `setup()` runs on first use.

    Per row: read (reuse check, sandboxed decode of the window), restore (on the device, holding its slot),
    write (intermediate, scores, receipt). The three run overlapped (udfs.overlap): the next window is
    decoded and the previous one written while the device restores, and the device slot is held only
    around the restore, so another task's restore can use the device while this one decodes or writes.
    At most three windows are in memory per task: one read ahead, one on the device, one being written.
    """

    output_schema = SEGMENT_UDF_OUT

    def __init__(self, settings: RestoreSettings) -> None:
        self.settings = settings

    def setup(self, device: str) -> Any:
        """The model for this task's device: loaded at most once per process, then shared (thread-safe)."""
        return get_restorer(self.settings.model, device)

    def _base_row(self, r: Any) -> dict[str, Any]:
        s = self.settings
        return {
            "video_id": r.video_id, "preset": s.model.preset, "config_hash": s.config_hash,
            "segment_index": int(r.segment_index), "file_version": r.file_version,
            "window_start": int(r.window_start), "first_output": int(r.first_output),
            "last_output": int(r.last_output), "device": None, "device_type": None,
            "worker": f"{os.getpid()}:{threading.get_ident()}", "scores": {},
        }

    def read(self, r: Any) -> _Read:
        """Reuse a finished segment, or decode the row's window (in the sandbox: the source is untrusted)."""
        from seedvr.restorer import derive_seed

        s = self.settings
        out = _Read(row=self._base_row(r), url="", t0=time.perf_counter())
        try:
            out.seed = out.row["seed"] = derive_seed(str(r.video_id), int(r.segment_index), int(s.seed))
            out.url = segment_io.intermediate_url(s.output_root, s.config_hash, str(r.video_id),
                                                  str(r.file_version), int(r.segment_index))
            self._read_into(r, out)
        except Exception as exc:  # noqa: BLE001 - a failed segment is a row, never a failed job
            out.error = exc
        return out

    def _read_into(self, r: Any, out: _Read) -> None:
        s, row, url, t0 = self.settings, out.row, out.url, out.t0
        done = segment_io.reusable_segment(url, row)
        if done is not None:  # finished by an earlier, interrupted run: its file and receipt check out
            row.update({k: done.get(k) for k in _RECEIPT_FIELDS}, status="ok", intermediate_uri=url, reused=True)
            return
        out.info = json.loads(r.info_json) if isinstance(r.info_json, str) else {}
        roots = (*s.source_roots, r.source_root) if isinstance(r.source_root, str) else s.source_roots
        check_under_roots(str(r.uri), roots)
        out.frames = segment_io.read_window(r.uri, int(r.window_start), int(r.last_output) + 1, out.info, s.decode)
        row["read_s"] = time.perf_counter() - t0

    def compute(self, r: Any, got: _Read) -> tuple[_Read, Any]:
        """Restore the window on a device, holding its slot only for this."""
        if got.frames is None or got.error is not None:
            return got, None
        s = self.settings
        try:
            with device_slot(s.device, s.tasks_per_gpu) as device:
                got.row.update(device=device, device_type=device_type(device))
                restorer = self.setup(device)  # a model that fails to load is a failed row
                got.row["weights_sha256"] = weights_digest(restorer.info)
                t1 = time.perf_counter()
                restored = restorer.restore(got.frames, seed=got.seed,
                                            target=_row_target(s, getattr(r, "canvas_json", None)))
                got.row["restore_s"] = time.perf_counter() - t1
        except Exception as exc:  # noqa: BLE001 - a failed segment is a row, never a failed job
            got.error = exc
            return got, None
        return got, restored

    def write(self, r: Any, computed: Any) -> dict[str, Any]:
        """Write the intermediate, its scores and its receipt; any failure on the way is the row's."""
        if isinstance(computed, Failed):  # not raised by a stage's own code: kept as the row's failure
            computed = (_Read(row=self._base_row(r), url="", t0=time.perf_counter(), error=computed.error), None)
        got, restored = computed
        row = got.row
        if row["device"] is None:  # failed or reused before reaching a device
            row["device"] = self.settings.device or ("cuda" if cuda_count() else "cpu")
            row["device_type"] = device_type(row["device"])
        try:
            if got.error is not None:
                raise got.error
            if restored is not None:
                t2 = time.perf_counter()
                sha = segment_io.write_segment(got.url, restored, got.info, self.settings.intermediate_codec)
                row.update(
                    status="ok", intermediate_uri=got.url, intermediate_sha256=sha,
                    frames_in=int(got.frames.shape[0]), frames_out=int(restored.shape[0]),
                    out_height=int(restored.shape[1]), out_width=int(restored.shape[2]),
                    write_s=time.perf_counter() - t2,
                )
                if self.settings.score:
                    row["scores"] = segment_scores(got.frames, restored)
                row["reused"] = False
                segment_io.write_receipt(got.url, {k: row.get(k) for k in (*_RECEIPT_FIELDS,
                                                                              *segment_io.RECEIPT_KEYS)})
        except Exception as exc:  # noqa: BLE001 - a failed segment is a row, never a failed job
            row.update(status="failed", **failure_columns(exc))
        row["total_s"] = time.perf_counter() - got.t0
        progress.tick("segments")
        if restored is not None:
            _maybe_kill()
        return row

    def __call__(self, batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for rows in self.iter_rows(batches):
            yield frame_for(rows, SEGMENT_UDF_OUT)

    def iter_rows(self, batches: Iterator[pd.DataFrame]) -> Iterator[list[dict[str, Any]]]:
        """One list of output rows per input batch (see udfs.stage.BatchStage)."""
        s = self.settings
        from seedvr.threads import apply_opencv_threads, apply_torch_threads, plan_threads

        budget = plan_threads(tasks=s.concurrent_tasks)
        apply_torch_threads(s.torch_threads or budget.torch)
        if s.score:
            apply_opencv_threads(budget.opencv)

        def rows() -> Iterator[tuple[bool, Any]]:
            for batch in batches:
                records = list(batch.itertuples(index=False))
                for i, r in enumerate(records):
                    yield i == len(records) - 1, r

        out: list[dict[str, Any]] = []
        for last, row in overlapped(rows(), lambda item: self.read(item[1]),
                                    lambda item, got: self.compute(item[1], got),
                                    lambda item, computed: (item[0], self.write(item[1], computed))):
            out.append(row)
            if last:  # one output frame per input batch, as the engine sent them
                yield out
                out = []
