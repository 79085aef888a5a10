"""What a restore run would do, from its selection and plan, before anything is restored or written.

Pure arithmetic over the selected catalog rows and the segments still to do (counted per video), so `seedvr-restore --dry-run`
answers in seconds: how many videos and segments, the waves and the restore time each is expected to take,
the output sizes, the scratch space the intermediates need (they stay until each video is stitched) and
the model's memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from jobs.restore.wave_cost import WaveSizing
from seedvr.restorer.target import TargetSize
from seedvr.video.intermediate import CODEC_BYTES_PER_PIXEL


@dataclass(frozen=True)
class DryRun:
    videos: int
    probe_failed: int
    segments_planned: int
    segments_todo: int
    waves: int
    frames_to_restore: int
    output_sizes: dict[tuple[int, int], int] = field(default_factory=dict)
    intermediate: str = "utvideo"
    scratch_bytes: int = 0
    preset: str = ""
    weights: str = ""
    gpu_memory_gb: float | None = None
    # Videos whose analysis calls for a mezzanine, by what it will do (deinterlace, crop, ...).
    archive: dict[str, int] = field(default_factory=dict)
    # How the waves are sized, with the expected restore seconds of each.
    wave_sizing: WaveSizing | None = None

    @property
    def minutes_per_wave(self) -> float | None:
        """Median expected restore minutes of a wave (None: no cost to go by)."""
        e = sorted(self.wave_sizing.expected_s) if self.wave_sizing else []
        return e[len(e) // 2] / 60 if e and e[-1] > 0 else None

    def lines(self) -> list[str]:
        sizes = ", ".join(f"{w}x{h} ({n})" for (w, h), n in
                          sorted(self.output_sizes.items(), key=lambda kv: -kv[1])[:5])
        more = len(self.output_sizes) - 5
        out = [
            "dry run: nothing was restored or written",
            f"  videos:   {self.videos} selected, {self.probe_failed} not restorable (probe failed)",
            f"  segments: {self.segments_todo} to restore of {self.segments_planned} planned, in {self.waves} "
            f"wave{'s' if self.waves != 1 else ''} ({self.frames_to_restore:,} frames with overlaps)",
            *([f"  waves:    about {self.minutes_per_wave:.1f} min of restore work each "
               f"({self.wave_sizing.rate:.3g} s per output megapixel-frame, {self.wave_sizing.rate_source})"]
              if self.wave_sizing and self.minutes_per_wave is not None else []),
            f"  output:   {sizes or 'none'}" + (f", and {more} other sizes" if more > 0 else ""),
            f"  model:    {self.preset}, weights {self.weights}"
            + (f", about {self.gpu_memory_gb:.0f} GB of GPU memory per task at 720p" if self.gpu_memory_gb else ""),
            f"  scratch:  up to {_size(self.scratch_bytes)} of {self.intermediate} segment files until their "
            "videos are stitched (freed then, unless --keep-intermediates)",
        ]
        if self.archive:
            out.append("  archive:  " + ", ".join(f"{n} to {what}" for what, n in sorted(self.archive.items()))
                       + " (a lossless mezzanine each, first; frame counts above are the stored ones)")
        return out


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} TB"


def estimate(selected: pd.DataFrame, todo: pd.DataFrame, *, planned: int, target: TargetSize, waves: WaveSizing,
             preset: str, weights: str | None, gpu_memory_gb: float | None, prepare: Any = None,
             codec: str = "utvideo") -> DryRun:
    """`selected`: catalog rows (video_id, probe_status, width, height, bit_depth); `todo`: per video, the
    segments still to do and their frames with overlaps (video_id, segments, frames; aggregated in Spark, so
    a plan of any size stays on the executors); `waves`: the sizing with each wave's expected seconds
    (jobs.restore.waves.estimate_waves)."""
    ok = selected[selected["probe_status"] == "ok"]
    geometry: dict[str, tuple[int, int, int]] = {}
    for r in ok.itertuples(index=False):
        h, w = target.output_size(int(r.height), int(r.width))
        geometry[r.video_id] = (w, h, 2 if (r.bit_depth or 8) > 8 else 1)
    sizes = Counter((w, h) for w, h, _ in geometry.values())
    per_pixel = CODEC_BYTES_PER_PIXEL[codec]  # a 16-bit source counts twice (itemsize)
    frames = scratch = 0.0
    segments = 0
    for r in todo.itertuples(index=False):
        n = int(r.frames)
        w, h, itemsize = geometry.get(r.video_id, (0, 0, 1))
        frames += n
        segments += int(r.segments)
        scratch += n * w * h * per_pixel * itemsize
    return DryRun(
        videos=len(selected), probe_failed=len(selected) - len(ok), segments_planned=planned, segments_todo=segments,
        waves=len(waves.expected_s), frames_to_restore=int(frames),
        output_sizes=dict(sizes), scratch_bytes=int(scratch), intermediate=codec,
        preset=preset, weights=(weights or "none (seeded random)") if preset != "identity" else "none",
        gpu_memory_gb=gpu_memory_gb, archive=archive_counts(ok, prepare), wave_sizing=waves,
    )


# What a preparation step says it does, by its first words (seedvr.video.prepare's `applied`).
_STEPS = {"deinterlace": "deinterlace", "inverse telecine": "inverse-telecine", "active picture": "crop bars",
          "square pixels": "square pixels"}


def archive_counts(ok: pd.DataFrame, prepare: Any) -> dict[str, int]:
    """How many of the probed videos each preparation step will touch (from their catalog analysis)."""
    if prepare is None or "analysis_json" not in ok:
        return {}
    import json

    from seedvr.video.analysis import Analysis
    from seedvr.video.prepare import plan_preparation

    counts: Counter[str] = Counter()
    for a in ok["analysis_json"]:
        if isinstance(a, str) and a:
            for step in plan_preparation(Analysis.from_dict(json.loads(a)), prepare).applied:
                counts.update(v for k, v in _STEPS.items() if step.startswith(k))
    return dict(counts)
