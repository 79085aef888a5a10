"""A restored video's scores: one definition, computed here, for every place that shows them.

The restorations table (written by the stitcher), the seedvr-restore summary, the MLflow run and the
results notebook all show what `score_video` returns, so they agree by construction. The definition:

- frames: the delivered output file, decoded, against the decoded source, at the frames
  `VIDEO_SAMPLER` picks over the whole video (32 spread evenly; every frame of a shorter video), and for
  the temporal score the pair (t, t+1) starting at each of them;
- each per-frame score is the `seedvr.quality` function of that name (`lr_psnr`: RGB, the output
  area-averaged to the source size in floating point, scikit-image's PSNR);
- the video's `<score>_mean` is the mean over those frames, except for PSNR scores, whose value is the
  PSNR of the mean squared error (`pooled_psnr`); `_min` / `_p10` are over the per-frame values;
- `<score>_ratio`, for each no-reference score, is the output's `_mean` over `bicubic_<score>_mean`, the
  same score of the source upscaled bicubically to the output size (the source itself at equal sizes): a
  no-reference number alone depends on the content and the frame size, its ratio says what the
  restoration did beyond a plain resize (sharpness > 1: sharper, noise_sigma < 1: cleaner, blockiness
  < 1: fewer blocks); `input_<score>_mean` is the score of the source at its own size;
- seams come from the stitcher's tap (`seam_tap`), measured on the blended frames as they are encoded.

Segment-level aggregates are never averaged into a video's value: a mean of segment means weights frames
by whichever frames each segment happened to sample, and a mean of PSNRs is not the PSNR of the video.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from seedvr.errors import error_class_of
from seedvr.quality.fidelity import FIDELITY_DOWNSCALED_SCORES, FIDELITY_SCORES, downscale_to
from seedvr.quality.frames import check_clip, luma
from seedvr.quality.noref import NOREF_LUMA_SCORES, NOREF_SCORES
from seedvr.quality.sampler import FrameSampler
from seedvr.quality.score import ClipScores
from seedvr.quality.temporal import pair_warp_error

if TYPE_CHECKING:
    from seedvr.video.decode import DecodeLimits
    from seedvr.video.info import VideoInfo

VIDEO_SAMPLER = FrameSampler(max_frames=32)
FLOW_PRESET = "fast"
# Decoded frames (output and source together) held at once while scoring a video.
CHUNK_MB = 1024
# Frame ranges this close are decoded in one pass (see `_runs`).
MERGE_GAP = 16
# The scores a reader looks at first, in this order: fidelity to the input, then what the no-reference
# scores say the restoration changed, then temporal stability and the worst join. Shown by the
# seedvr-restore summary and the results notebook; the restorations table and MLflow carry every score.
HEADLINE_SCORES = ("lr_psnr_mean", "lr_delta_e_mean", "sharpness_ratio", "noise_sigma_ratio", "blockiness_ratio",
                   "warp_error_mean", "seam_max")
# Counts that describe the scoring, not the video; the restorations row has its own num_frames.
_NOT_SCORES = ("num_frames", "frames_scored")

# Frames [start, stop) of one file as a (T, H, W, 3) array.
FrameReader = Callable[[int, int], np.ndarray]


def scored_frames(num_frames: int) -> list[int]:
    """The frames t whose scores make a video's value (the temporal score uses the pair t, t+1)."""
    return [int(t) for t in VIDEO_SAMPLER.pick(num_frames)]


def _runs(indices: Sequence[int], gap: int = 0) -> list[tuple[int, int]]:
    """Sorted frame indices as [start, stop) ranges, each decoded once; ranges at most `gap` frames apart
    are joined, since decoding through a few frames is cheaper than seeking (which decodes again from
    the keyframe before the range)."""
    runs: list[list[int]] = []
    for t in sorted(set(indices)):
        if runs and t - runs[-1][1] <= gap:
            runs[-1][1] = t + 1
        else:
            runs.append([t, t + 1])
    return [(a, b) for a, b in runs]


def _needed(picked: Sequence[int], num_frames: int) -> list[int]:
    return sorted({u for t in picked for u in (t, t + 1) if u < num_frames})


def _decoded(picked: Sequence[int], num_frames: int) -> int:
    return sum(b - a for a, b in _runs(_needed(picked, num_frames), MERGE_GAP))


def chunk_picks(picked: Sequence[int], num_frames: int, max_frames: int) -> list[list[int]]:
    """The scored frames in consecutive groups that each decode at most `max_frames` frames (at least
    one pair), so that decoding and memory stay bounded for any frame size."""
    cap = max(2, max_frames)
    chunks: list[list[int]] = []
    for t in picked:
        if chunks and _decoded([*chunks[-1], t], num_frames) <= cap:
            chunks[-1].append(t)
        else:
            chunks.append([t])
    return chunks


def read_scored(read: FrameReader, num_frames: int, picked: Sequence[int] | None = None) -> dict[int, np.ndarray]:
    """The frames the definition needs (each scored t and t + 1), by frame index; `picked` limits it to
    some of the scored frames (default: all of them)."""
    picked = scored_frames(num_frames) if picked is None else picked
    keep = set(_needed(picked, num_frames))
    frames: dict[int, np.ndarray] = {}
    for start, stop in _runs(_needed(picked, num_frames), MERGE_GAP):
        for k, f in enumerate(read(start, stop)):
            if start + k in keep:
                frames[start + k] = f
    return frames


def score_frames(output: Mapping[int, np.ndarray], source: Mapping[int, np.ndarray], num_frames: int,
                 picked: Sequence[int] | None = None, cuts: Sequence[int] = ()) -> ClipScores:
    """Per-frame curves (keyed by frame index) of the output frames against the source frames, at the
    scored frames present in `output` (or at `picked`). A pair (t, t+1) across a shot cut (t+1 in `cuts`)
    has no temporal score: the picture is meant to change there.

    Frame by frame, so that what several scores share (a frame's luma, the output downscaled to the
    source, the source upscaled to the output) is computed once and dropped with the frame; a score that
    fails on any frame has no curve, only its error (the first one), as with `score.score_clip`."""
    idx = sorted(output)
    pos = {t: i for i, t in enumerate(idx)}
    out = check_clip(np.stack([output[t] for t in idx]), "output")
    src = check_clip(np.stack([source[t] for t in idx]), "source")
    picked = [t for t in (scored_frames(num_frames) if picked is None else picked) if t in pos]
    clip = ClipScores(num_frames=num_frames, frames_scored=len(picked))
    resized = out.shape[1:3] != src.shape[1:3]
    # Motion comes from the source pair, so output artefacts do not bend the flow that judges them.
    cut_set = set(cuts)
    pairs = {t for t in picked if t + 1 in pos and t + 1 not in cut_set}
    names = [*NOREF_SCORES, *(f"input_{k}" for k in NOREF_SCORES), *FIDELITY_SCORES,
             *((f"bicubic_{k}" for k in NOREF_SCORES) if resized else ()), "warp_error"]
    curves: dict[str, dict[int, float]] = {name: {} for name in names}
    memos: dict[int, _FrameMemo] = {}

    def memo(t: int) -> _FrameMemo:
        if t not in memos:
            memos[t] = _FrameMemo(out[pos[t]], src[pos[t]], out.shape[1:3] if resized else None)
        return memos[t]

    def record(name: str, t: int, score: Callable[..., float], *inputs: Callable[[], np.ndarray]) -> None:
        if name in clip.errors:
            return
        try:
            curves[name][t] = score(*(make() for make in inputs))
        except Exception as exc:  # one score failing must not lose the others
            clip.errors[name] = f"{error_class_of(exc)}: {exc}"

    def warp(cur: np.ndarray, nxt: np.ndarray, flow_a: np.ndarray, flow_b: np.ndarray) -> float:
        return pair_warp_error(cur, nxt, flow_a, flow_b, preset=FLOW_PRESET)

    for t in picked:
        m = memo(t)
        for k, fn in NOREF_LUMA_SCORES.items():
            record(k, t, fn, m.out_luma)
        for k, fn in NOREF_LUMA_SCORES.items():
            record(f"input_{k}", t, fn, m.src_luma)
        for k, fn in FIDELITY_DOWNSCALED_SCORES.items():
            record(k, t, fn, m.downscaled, m.source)
        if resized:
            for k, fn in NOREF_LUMA_SCORES.items():
                record(f"bicubic_{k}", t, fn, m.upscaled_luma)
        if t in pairs:
            nxt = memo(t + 1)
            record("warp_error", t, warp, m.output, nxt.output, m.flow_luma, nxt.flow_luma)
        for done in [u for u in memos if u <= t]:
            del memos[done]
    clip.curves.update({name: curve for name, curve in curves.items() if name not in clip.errors})
    if not resized:
        clip.curves.update({f"bicubic_{k}": dict(clip.curves[f"input_{k}"]) for k in NOREF_SCORES
                            if f"input_{k}" in clip.curves})
    return clip


class _FrameMemo:
    """What the scores of one frame t share, each computed on first use: the lumas, the output area-
    averaged to the source size (`downscale_to`), the source upscaled bicubically to the output size
    (`size`; None at equal sizes) and its flow luma."""

    def __init__(self, out: np.ndarray, src: np.ndarray, size: tuple[int, int] | None) -> None:
        self.out, self.src, self._size = out, src, size
        self._cache: dict[str, np.ndarray] = {}

    def _get(self, key: str, make: Callable[[], np.ndarray]) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def output(self) -> np.ndarray:
        return self.out

    def source(self) -> np.ndarray:
        return self.src

    def out_luma(self) -> np.ndarray:
        return self._get("out_luma", lambda: luma(self.out))

    def src_luma(self) -> np.ndarray:
        return self._get("src_luma", lambda: luma(self.src))

    def downscaled(self) -> np.ndarray:
        return self._get("down", lambda: downscale_to(self.out, self.src))

    def upscaled(self) -> np.ndarray:
        size = self._size
        return self.src if size is None else self._get("up", lambda: bicubic(self.src, size))

    def upscaled_luma(self) -> np.ndarray:
        return self.src_luma() if self._size is None else self._get("up_luma", lambda: luma(self.upscaled()))

    def flow_luma(self) -> np.ndarray:
        # `temporal.flow_luma` of the upscaled source, from the luma the no-reference scores already took.
        return self._get("flow", lambda: np.clip(self.upscaled_luma(), 0, 255).astype(np.uint8))


def bicubic(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`frame` resized to (height, width) `size` by bicubic interpolation (OpenCV INTER_CUBIC), the plain
    resize that `<score>_ratio` compares the output with; uint8 stays uint8 (saturated)."""
    h, w = size
    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_CUBIC)


def _merge(into: ClipScores, part: ClipScores) -> None:
    """Add one chunk's curves; a score that failed on any chunk has no curve (never a partial value)."""
    into.errors.update(part.errors)
    for name, curve in part.curves.items():
        into.curves.setdefault(name, {}).update(curve)
    for name in into.errors:
        into.curves.pop(name, None)
    into.frames_scored += part.frames_scored


def video_scores(clip: ClipScores, seams: Mapping[int, float] | None = None) -> dict[str, float]:
    """A video's scores from its per-frame curves (`ClipScores.aggregates`) and its seam scores:
    numbers only (the restorations column is a map of doubles); the `_ratio` of each no-reference score;
    seam_max / seam_mean over the joins that were measured."""
    agg = clip.aggregates()
    scores = {k: float(v) for k, v in agg.items()
              if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in _NOT_SCORES
              and not k.startswith("seam_")}
    for name in NOREF_SCORES:
        out, src = scores.get(f"{name}_mean"), scores.get(f"bicubic_{name}_mean")
        if out is not None and src is not None and np.isfinite(out) and np.isfinite(src) and src > 0:
            scores[f"{name}_ratio"] = out / src
    measured = [float(v) for v in (seams or {}).values() if np.isfinite(v)]
    if measured:
        scores["seam_max"] = max(measured)
        scores["seam_mean"] = float(np.mean(measured))
    return scores


def score_video_clip(source: VideoInfo, output_url: str, *, limits: DecodeLimits | None = None,
                     isolate: bool = True, cuts: Sequence[int] = (),
                     source_frame: Callable[[np.ndarray], np.ndarray] | None = None) -> ClipScores:
    """Per-frame curves of the definition for one restored video: `source` is the source's `VideoInfo`
    (its file is untrusted and decoded in the sandbox unless `isolate=False`), `output_url` the
    delivered file (written by the job, decoded in-process). Frames are decoded and scored in chunks of
    at most `CHUNK_MB` (and within the decode budget of `limits`); the result does not depend on them.
    `source_frame` maps a source frame to what the output is compared with (a prepared source's picture
    inside its bars, at the source's scale)."""
    from seedvr.video.decode import DecodeLimits, read_frames, read_frames_isolated, window_bytes
    from seedvr.video.probe import probe

    out_info = probe(output_url, isolate=False)
    n = min(source.num_frames, out_info.num_frames)
    lim = limits or DecodeLimits()

    def read_source(a: int, b: int) -> np.ndarray:
        frames = (read_frames_isolated(source.url, a, b, source, lim) if isolate
                  else read_frames(source.url, a, b, source))
        return frames if source_frame is None else np.stack([source_frame(f) for f in frames])

    def read_output(a: int, b: int) -> np.ndarray:
        return read_frames(output_url, a, b, out_info)

    per_frame = window_bytes(source, 1) + window_bytes(out_info, 1)
    cap = min(int(CHUNK_MB * 2**20 // per_frame), int(lim.window_mb * 2**20 // window_bytes(source, 1)))
    clip = ClipScores(num_frames=n)
    for chunk in chunk_picks(scored_frames(n), n, cap):
        _merge(clip, score_frames(read_scored(read_output, n, chunk), read_scored(read_source, n, chunk), n,
                                  chunk, cuts))
    if source.num_frames != out_info.num_frames:
        clip.notes.append(f"source has {source.num_frames} frames, output {out_info.num_frames}: scored "
                          f"frames 0-{n - 1}")
    return clip


def score_video(source: VideoInfo, output_url: str, seams: Mapping[int, float] | None = None, *,
                limits: DecodeLimits | None = None, isolate: bool = True, cuts: Sequence[int] = (),
                source_frame: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, float]:
    """The scores of one restored video, as the restorations table records them (see the module doc);
    `cuts` are the first frames of its shots after the first."""
    return video_scores(score_video_clip(source, output_url, limits=limits, isolate=isolate, cuts=cuts,
                                         source_frame=source_frame), seams)
