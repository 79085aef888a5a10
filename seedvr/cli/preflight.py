"""Checks `seedvr-clip` runs before it probes or loads anything, and the plan `--dry-run` prints.

The output location is checked first because a run can take hours: finding an unwritable folder
after the last segment would throw all of it away.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from dataclasses import dataclass
from typing import Any

from seedvr.errors import ConfigError, first_line
from seedvr.video.storage import bucket_of, check_bucket, local_path


def check_output_location(output: str, input_url: str | None = None, *, create: bool = True) -> None:
    """The output's folder exists or can be created, and accepts files; an object store's bucket exists.

    Creates the local folder (as the final write would), and a probe file in it that is removed at once.
    `create=False` (a dry run) writes nothing: the nearest existing folder must be writable instead.
    """
    path = local_path(output)
    if path is None:
        if bucket_of(output) is not None:
            check_bucket(output)
        return
    if input_url is not None and local_path(input_url) is not None and \
            os.path.realpath(local_path(input_url)) == os.path.realpath(path):
        raise ConfigError(f"output {output} is the input file; write the restored video to another path")
    if os.path.isdir(path):
        raise ConfigError(f"output {output} is a folder; give a file name such as {os.path.join(output, 'out.mp4')}")
    folder = os.path.dirname(os.path.abspath(path))
    if not create:
        _check_writable_without_writing(output, folder)
        return
    try:
        os.makedirs(folder, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"output {output}: {_blocker(folder)} is a file, not a folder; choose another "
                          "output path") from None
    except OSError as exc:
        raise ConfigError(f"output {output}: cannot create the folder {folder} ({_reason(exc)}); create it "
                          "with write access or choose another output path") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".seedvr-write-check-", dir=folder)
    except OSError as exc:
        raise ConfigError(f"output {output}: cannot write into {folder} ({_reason(exc)}); grant write access "
                          "to the folder or choose another output path") from None
    os.close(fd)
    with contextlib.suppress(OSError):
        os.remove(probe)


def _check_writable_without_writing(output: str, folder: str) -> None:
    existing = folder
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ConfigError(f"output {output}: {existing} is a file, not a folder; choose another output path")
    if not os.access(existing, os.W_OK | os.X_OK):
        where = f"into {folder}" if existing == folder else f"the folder {folder} (in {existing})"
        raise ConfigError(f"output {output}: cannot write {where} (permission denied); grant write access "
                          "to the folder or choose another output path")


def _blocker(folder: str) -> str:
    """The first path component of `folder` that exists and is not a directory."""
    parts = os.path.abspath(folder).split(os.sep)
    for i in range(2, len(parts) + 1):
        p = os.sep.join(parts[:i]) or os.sep
        if os.path.exists(p) and not os.path.isdir(p):
            return p
    return folder


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno == errno.ENOSPC:
        return "no space left"
    if exc.errno == errno.ENOTDIR:
        return "a part of the path is a file"
    return exc.strerror or first_line(exc)


@dataclass(frozen=True)
class Plan:
    """What a run would do, as `--dry-run` prints it."""

    source: dict[str, Any]
    output: str
    output_size: tuple[int, int]  # (width, height)
    target: str
    model: dict[str, Any]
    segments: int
    segment_frames: int
    context_frames: int
    last_segment_frames: int
    window_bytes: int
    model_memory_gb: float | None
    # What would stop the real run (missing weights); a dry run shows the plan anyway and exits 2.
    problems: tuple[str, ...] = ()
    # What the archive analysis found and what the preparation will do (None: --archive off).
    archive: dict[str, Any] | None = None
    # The memory model's prediction (seedvr.memory.plan): (MemoryPlan, where the budget came from) for a
    # stated or detected GPU memory, a SegmentMemory of the requested segment without one, None: no model.
    gpu_plan: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "output": self.output, "output_size": list(self.output_size),
            "target": self.target, "model": self.model,
            "segments": {"count": self.segments, "frames": self.segment_frames, "context_frames": self.context_frames,
                         "last_frames": self.last_segment_frames},
            "memory": {"decoded_window_bytes": self.window_bytes, "model_gpu_gb": self.model_memory_gb,
                       **_gpu_plan_dict(self.gpu_plan)},
            "ok": not self.problems, "problems": list(self.problems), "archive": self.archive,
        }

    def lines(self) -> list[str]:
        s = self.source
        w, h = self.output_size
        mem = f"decoded input window {_size(self.window_bytes)} (host)"
        if self.model_memory_gb:
            mem += f"; model about {self.model_memory_gb:g} GB of GPU memory at 720p (memory model, 45-frame segments)"
        elif self.model.get("preset") == "identity":
            mem += "; no model"
        m = self.model
        model = ", ".join(f"{k} {v}" for k, v in m.items() if v is not None)
        return [
            "dry run: nothing is loaded or written" + ("" if not self.problems else
                                                       "; the run would stop at the problem below"),
            f"  input     {s['url']}: {s['codec']} {s['width']}x{s['height']} {s['pix_fmt']}, "
            f"{s['fps']:g} fps, {s['num_frames']} frames, {s['duration_s']:.1f} s",
            f"  output    {self.output}: {w}x{h} ({self.target})",
            f"  model     {model}",
            f"  segments  {self.segments} of up to {self.segment_frames} frames with {self.context_frames} "
            f"context frames (last one {self.last_segment_frames} frames)",
            f"  memory    {mem}",
            *_gpu_plan_lines(self.gpu_plan),
            *_archive_lines(self.archive),
            *(f"  problem   {p}" for p in self.problems),
        ]


def _gpu_plan_lines(gpu_plan: Any) -> list[str]:
    if gpu_plan is None:
        return []
    if isinstance(gpu_plan, tuple):
        plan, source = gpu_plan
        return [f"  gpu       {plan.describe()} ({source})"]
    tiles = f"VAE tiles {gpu_plan.tiling.tile_px}/{gpu_plan.tiling.overlap_px} px" if gpu_plan.tiling else "VAE untiled"
    return [f"  gpu       predicted peak {gpu_plan.peak / 2**30:.1f} GiB ({gpu_plan.peak_phase}) for "
            f"{gpu_plan.frames}-frame segments at {gpu_plan.width}x{gpu_plan.height}, {tiles}; no GPU memory "
            "stated or detected (--gpu-memory 24GiB plans the segment length and tiling for it)"]


def _gpu_plan_dict(gpu_plan: Any) -> dict[str, Any]:
    if gpu_plan is None:
        return {}
    plan, source = gpu_plan if isinstance(gpu_plan, tuple) else (None, None)
    m = plan.memory if plan is not None else gpu_plan
    out = {"predicted_peak_bytes": m.peak, "peak_phase": m.peak_phase, "resident_bytes": m.resident,
           "phase_bytes": dict(m.phases), "segment_frames": m.frames,
           "vae_tiling": [m.tiling.tile_px, m.tiling.overlap_px] if m.tiling else None}
    if plan is not None:
        out.update(gpu_memory_bytes=plan.budget, gpu_memory_source=source, fits=plan.fits)
    return out


def _archive_lines(archive: dict[str, Any] | None) -> list[str]:
    if not archive or not archive.get("analysis"):
        return []
    a = archive["analysis"]
    scan = a["scan"]
    kind = scan["kind"] + (f" ({scan['field_order']})" if scan.get("field_order") else "")
    bars = {k: v for k, v in a["active"].items() if k in ("top", "bottom", "left", "right") and v}
    found = (f"{kind}, flagged {scan['flagged']}; {len(a['cuts'])} shot cut{'' if len(a['cuts']) == 1 else 's'}; "
             f"bars {', '.join(f'{k} {v}' for k, v in bars.items()) or 'none'}; SAR {a['pixels']['sar']}")
    prep = archive.get("preparation")
    return [f"  analysis  {found}",
            f"  prepare   {'; '.join(prep['applied']) if prep else 'nothing: restored as stored'}"]


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} B"
