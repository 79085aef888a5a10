"""Segment planner: exact coverage, causal windows, cuts respected, parameter validation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seedvr.errors import ConfigError
from seedvr.video.plan import Segment, check_plan, plan_segments


def _assert_valid(segs: list[Segment], n: int, seg_frames: int, ctx: int, cuts: list[int]) -> None:
    owned = [0] * n
    shot_start = {f: max([0, *[c for c in cuts if 0 < c <= f]]) for f in range(n)}
    for i, s in enumerate(segs):
        assert s.index == i
        assert 0 <= s.window_start <= s.first_output <= s.last_output < n  # never past the video
        assert s.window_frames <= seg_frames
        # causal: context is exactly `ctx` frames unless the shot (or video) starts closer
        expected_ctx = min(ctx, s.first_output - shot_start[s.first_output])
        assert s.context_frames == expected_ctx
        # never across a scene cut: the whole window lies in one shot
        assert shot_start[s.window_start] == shot_start[s.last_output]
        for f in range(s.first_output, s.last_output + 1):
            owned[f] += 1
    assert owned == [1] * n
    check_plan(segs, n)


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 400),
    k=st.integers(0, 12),
    ctx_frac=st.floats(0, 0.999),
    cuts=st.lists(st.integers(0, 400), max_size=8),
)
def test_plan_properties(n: int, k: int, ctx_frac: float, cuts: list[int]) -> None:
    seg_frames = 4 * k + 1
    ctx = int(ctx_frac * seg_frames)
    cuts = [c for c in cuts if c <= n]
    segs = plan_segments(n, seg_frames, ctx, cuts)
    _assert_valid(segs, n, seg_frames, ctx, sorted(set(cuts)))


def test_full_windows_are_4n_plus_1() -> None:
    segs = plan_segments(100, 33, 8)
    assert [s.window_frames for s in segs[:-1]] == [33] * (len(segs) - 1)
    assert segs[0] == Segment(0, 0, 0, 32)
    assert segs[1] == Segment(1, 25, 33, 57)


def test_short_and_single_frame_videos() -> None:
    assert plan_segments(1, 33, 8) == [Segment(0, 0, 0, 0)]
    assert plan_segments(20, 33, 8) == [Segment(0, 0, 0, 19)]


def test_scene_cut_starts_fresh_segment_without_context() -> None:
    segs = plan_segments(60, 17, 4, scene_cuts=[30])
    at_cut = [s for s in segs if s.first_output == 30]
    assert len(at_cut) == 1 and at_cut[0].window_start == 30
    assert all(not (s.window_start < 30 <= s.last_output) for s in segs)


def test_segment_round_trips_through_dict() -> None:
    s = Segment(3, 10, 14, 40)
    assert Segment.from_dict(s.to_dict()) == s


@pytest.mark.parametrize(
    ("n", "seg", "ctx", "match"),
    [
        (10, 8, 2, "4n\\+1"),
        (10, 9, 9, "smaller than segment_frames"),
        (10, 9, -1, "context_frames"),
        (0, 9, 2, "num_frames"),
        (10, 0, 0, "segment_frames"),
        (10, 9.0, 2, "segment_frames"),
    ],
)
def test_bad_parameters_name_the_value(n: int, seg: int, ctx: int, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        plan_segments(n, seg, ctx)


def test_bad_cut_is_rejected() -> None:
    with pytest.raises(ConfigError, match="scene cut"):
        plan_segments(10, 5, 1, scene_cuts=[11])


def test_check_plan_rejects_gaps_and_overlaps() -> None:
    with pytest.raises(ConfigError, match="expected 5"):
        check_plan([Segment(0, 0, 0, 4), Segment(1, 5, 6, 9)], 10)
    with pytest.raises(ConfigError, match="covers 5"):
        check_plan([Segment(0, 0, 0, 4)], 10)
