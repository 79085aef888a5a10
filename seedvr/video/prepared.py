"""An archive source made ready for restoration: analysed, rewritten when it needs it, and what the
restore and the stitch then use instead of the raw file.

`prepare_for_restore` runs the analysis and, when the file is interlaced, telecined, boxed or anamorphic,
writes its mezzanine (`seedvr.video.prepare`). `PreparedSource` then answers what the rest asks: which
frames to restore (`info`), where the shots change in those frames (`cuts`), how large the restored
picture must be for the *full* output frame to meet the target (`picture_target`), and how each restored
frame becomes an output frame (`finish`: the bars put back). Audio and subtitles come from `source`.
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from seedvr.restorer.target import TargetSize
from seedvr.video.prepare import (
    Canvas,
    Preparation,
    PrepareOptions,
    plan_preparation,
    prepare_isolated,
    prepare_source,
)

if TYPE_CHECKING:
    from seedvr.video.analysis import Analysis
    from seedvr.video.decode import DecodeLimits
    from seedvr.video.info import VideoInfo


@dataclass(frozen=True)
class PreparedSource:
    info: VideoInfo  # the frames to restore: the mezzanine, or the source itself
    source: VideoInfo  # the original file (audio, subtitles, provenance)
    analysis: Analysis | None = None
    preparation: Preparation | None = None
    cuts: tuple[int, ...] = ()  # first frames of new shots, in `info` frames

    @property
    def rewritten(self) -> bool:
        return self.preparation is not None and self.preparation.needed

    def picture_target(self, target: TargetSize | None) -> TargetSize | None:
        """The target of the restored picture, so that picture plus bars meets `target` as the display
        frame: "1080p" of a letterboxed 4:3 frame is 1440x1080 in all, the picture inside it smaller."""
        return picture_target(target, self.preparation.canvas if self.preparation is not None else None)

    def finish(self, frame: np.ndarray) -> np.ndarray:
        """A restored picture as an output frame (bars put back, exactly black)."""
        if self.preparation is None:
            return frame
        return self.preparation.canvas.pad(frame)

    def to_dict(self) -> dict[str, Any]:
        return {"analysis": self.analysis.to_dict() if self.analysis else None,
                "preparation": self.preparation.to_dict() if self.rewritten else None,
                "cuts": list(self.cuts)}


def picture_target(target: TargetSize | None, canvas: Canvas | None) -> TargetSize | None:
    """`target` for the picture of `canvas`, so that the picture with its bars meets `target`."""
    if target is None or canvas is None or not canvas.has_bars:
        return target
    pw, ph = canvas.picture
    t, b, lft, r = canvas.bars
    full_h, full_w = ph + t + b, pw + lft + r
    out_h, _ = target.output_size(full_h, full_w)
    return TargetSize("scale", out_h / full_h, max(2, target.multiple))


def canvas_of(record: dict[str, Any] | None) -> Canvas | None:
    """The canvas of a job's prepared-source record (`job_record`)."""
    if not record:
        return None
    w, h = record["picture"]
    return Canvas((int(w), int(h)), tuple(int(x) for x in record["bars"]))  # type: ignore[arg-type]


def job_record(p: PreparedSource, url: str) -> dict[str, Any]:
    """What the job's later stages need of a prepared source, JSON-safe: the mezzanine (URL and its
    VideoInfo), its canvas, its cuts and what was applied."""
    assert p.preparation is not None
    return {"url": url, "info": p.info.to_dict(), "picture": list(p.preparation.canvas.picture),
            "bars": list(p.preparation.canvas.bars), "cuts": list(p.cuts), "applied": list(p.preparation.applied),
            "filters": ",".join(p.preparation.filters), "num_frames": p.info.num_frames}


def output_size(prep: Preparation | None, target: TargetSize, height: int, width: int) -> tuple[int, int]:
    """(width, height) of the output frame: the target applied to the display frame (picture and bars)."""
    if prep is None or not prep.needed:
        h, w = target.output_size(height, width)
        return w, h
    c = prep.canvas
    pw, ph = c.picture
    t, b, lft, r = c.bars
    full_h = ph + t + b
    if not c.has_bars:
        h, w = target.output_size(ph, pw)
        return w, h
    out_h, _ = target.output_size(full_h, pw + lft + r)
    picture = TargetSize("scale", out_h / full_h, max(2, target.multiple))
    oh, ow = picture.output_size(ph, pw)
    bt, bb, bl, br = c.scaled_bars(ow, oh)
    return ow + bl + br, oh + bt + bb


def map_cuts(cuts: tuple[int, ...], source: VideoInfo, prepared: VideoInfo) -> tuple[int, ...]:
    """Cut frames of the source as frames of the prepared stream, by presentation time (a double-rate
    deinterlace doubles them, an inverse telecine moves them to the film frame that starts the shot)."""
    if prepared is source:
        return cuts
    times = [float(prepared.time_of(i)) for i in range(prepared.num_frames)]
    out = []
    for c in cuts:
        k = bisect.bisect_left(times, float(source.time_of(c)) - 1e-6)
        if 0 < k < prepared.num_frames:
            out.append(k)
    return tuple(sorted(set(out)))


def prepare_for_restore(url: str, info: VideoInfo, options: PrepareOptions | None, work_dir: str, *,
                        limits: DecodeLimits | None = None, analysis: Analysis | None = None,
                        isolate: bool = True) -> PreparedSource:
    """Analyse `url` (in the sandbox unless `isolate=False`) and write its mezzanine under `work_dir`
    when it needs one; `options=None` restores the file as it is stored."""
    if options is None:
        return PreparedSource(info, info)
    from seedvr.video.analysis import analyse, analyse_isolated
    from seedvr.video.decode import DecodeLimits
    from seedvr.video.probe import probe

    lim = limits or DecodeLimits()
    if analysis is None:
        analysis = analyse_isolated(url, info, lim) if isolate else analyse(url, info)
    prep = plan_preparation(analysis, options)
    if not prep.needed:
        return PreparedSource(info, info, analysis, prep, analysis.cut_frames)
    os.makedirs(work_dir, exist_ok=True)
    mezz = os.path.join(work_dir, "prepared.mkv")
    if isolate:
        prepare_isolated(url, info, prep, mezz, lim)
    else:
        prepare_source(url, info, prep, mezz)
    mezz_info = probe(mezz, isolate=False)  # our own file
    return PreparedSource(mezz_info, info, analysis, prep, map_cuts(analysis.cut_frames, info, mezz_info))
