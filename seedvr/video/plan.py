"""Segment plans: which frames each restorer call sees and which of them it owns in the output.

The model is a causal video VAE + DiT that wants 4n+1-frame windows. A long video is cut into
segments whose *input* windows overlap by `context_frames`: segment k sees the `context_frames`
frames before its first output frame (already owned by segment k-1), never frames after its last
output frame, and never frames across a scene cut. The stitcher later cross-fades the frames both
neighbours restored. Everything here is pure arithmetic, so it is tested exhaustively without video.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seedvr.errors import ConfigError


@dataclass(frozen=True)
class Segment:
    """One restorer call: input frames `[window_start, last_output]`, output frames `[first_output, last_output]`.

    Frames `[window_start, first_output)` are context: the previous segment owns them and the
    stitcher blends both versions.
    """

    index: int
    window_start: int
    first_output: int
    last_output: int  # inclusive

    def __post_init__(self) -> None:
        if not (0 <= self.window_start <= self.first_output <= self.last_output) or self.index < 0:
            raise ConfigError(
                f"invalid segment {self!r}: need index >= 0 and 0 <= window_start <= first_output <= last_output"
            )

    @property
    def window_frames(self) -> int:
        """Frames the restorer sees."""
        return self.last_output - self.window_start + 1

    @property
    def output_frames(self) -> int:
        """Frames this segment owns in the final video."""
        return self.last_output - self.first_output + 1

    @property
    def context_frames(self) -> int:
        """Frames seen only as context (owned by an earlier segment)."""
        return self.first_output - self.window_start

    @property
    def window_stop(self) -> int:
        """Exclusive end of the input window, for `read_frames(url, window_start, window_stop, info)`."""
        return self.last_output + 1

    def to_dict(self) -> dict[str, int]:
        return {
            "index": self.index,
            "window_start": self.window_start,
            "first_output": self.first_output,
            "last_output": self.last_output,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Segment:
        return cls(int(d["index"]), int(d["window_start"]), int(d["first_output"]), int(d["last_output"]))


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def validate_plan_params(num_frames: int, segment_frames: int, context_frames: int) -> None:
    """Raise `ConfigError` naming the bad value and the fix."""
    _check_int("num_frames", num_frames, 1)
    _check_int("segment_frames", segment_frames, 1)
    _check_int("context_frames", context_frames, 0)
    if (segment_frames - 1) % 4 != 0:
        lo = segment_frames - (segment_frames - 1) % 4
        raise ConfigError(
            f"segment_frames must be 4n+1 (1, 5, 9, ..., 33, ...) for the causal VAE, got {segment_frames}; "
            f"use {lo} or {lo + 4}"
        )
    if context_frames >= segment_frames:
        raise ConfigError(
            f"context_frames ({context_frames}) must be smaller than segment_frames ({segment_frames}), "
            "otherwise a segment would output no new frame"
        )


def _normalise_cuts(scene_cuts: Iterable[int], num_frames: int) -> list[int]:
    """Sorted unique cut frames strictly inside the video (a cut at frame c starts a new shot at c)."""
    cuts = set()
    for c in scene_cuts:
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= num_frames:
            raise ConfigError(f"scene cut {c!r} must be an int frame index in [0, {num_frames}]")
        if 0 < c < num_frames:
            cuts.add(c)
    return sorted(cuts)


def plan_segments(
    num_frames: int, segment_frames: int, context_frames: int, scene_cuts: Iterable[int] = ()
) -> list[Segment]:
    """Cover frames `[0, num_frames)` exactly once with segments of at most `segment_frames` input frames.

    Each shot (the frames between scene cuts) is planned on its own: its first segment has no context,
    the next ones start `context_frames` before their first output frame. The last segment of a shot
    may be shorter; a video shorter than one segment is one segment.
    """
    validate_plan_params(num_frames, segment_frames, context_frames)
    bounds = [0, *_normalise_cuts(scene_cuts, num_frames), num_frames]
    segments: list[Segment] = []
    for shot_start, shot_stop in zip(bounds[:-1], bounds[1:], strict=True):
        pos = shot_start
        while pos < shot_stop:
            context = min(context_frames, pos - shot_start)
            out_len = min(segment_frames - context, shot_stop - pos)
            segments.append(Segment(len(segments), pos - context, pos, pos + out_len - 1))
            pos += out_len
    return segments


def check_plan(segments: Sequence[Segment], num_frames: int) -> None:
    """Validate a plan received from elsewhere (a table row, a JSON file) before stitching with it."""
    if not segments:
        raise ConfigError("a plan needs at least one segment")
    expected = 0
    prev_window = 0
    for i, seg in enumerate(segments):
        if seg.index != i:
            raise ConfigError(f"segment {i} has index {seg.index}; segments must be numbered 0..n-1 in order")
        if seg.first_output != expected:
            raise ConfigError(
                f"segment {i} starts its output at frame {seg.first_output}, expected {expected}: "
                "every frame must be owned by exactly one segment"
            )
        if seg.window_start < prev_window:
            raise ConfigError(f"segment {i} window starts at {seg.window_start}, before segment {i - 1}'s window")
        expected = seg.last_output + 1
        prev_window = seg.window_start
    if expected != num_frames:
        raise ConfigError(f"plan covers {expected} frames but the video has {num_frames}")
