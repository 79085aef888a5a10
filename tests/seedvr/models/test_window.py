"""720p-normalised windows and the varlen packing built on them."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seedvr.models.packing import build_window_plan
from seedvr.models.window import (
    shifted_segments,
    window_segments,
    window_size_720p,
    window_slices,
)

NW = (4, 3, 3)


def edges(segs: list[tuple[int, int]]) -> list[int]:
    return [segs[0][0]] + [b for _, b in segs]


@pytest.mark.parametrize(
    ("grid", "window", "regular", "shifted"),
    [
        # 1280x720, 121 frames
        ((31, 45, 80), (8, 15, 27),
         ([0, 8, 16, 24, 31], [0, 15, 30, 45], [0, 27, 54, 80]),
         ([0, 4, 12, 20, 28, 31], [0, 7, 22, 37, 45], [0, 13, 40, 67, 80])),
        # 1024x1024 image: shifted h, w edges [0, 10, 30, 32]
        ((1, 32, 32), (1, 20, 20), ([0, 1], [0, 20, 32], [0, 20, 32]), ([0, 1], [0, 10, 30, 32], [0, 10, 30, 32])),
    ],
)
def test_worked_examples(grid, window, regular, shifted) -> None:  # noqa: ANN001
    assert window_size_720p(grid, NW) == window
    assert [edges(s) for s in window_segments(grid, NW, shifted=False)] == list(regular)
    assert [edges(s) for s in window_segments(grid, NW, shifted=True)] == list(shifted)


@pytest.mark.parametrize(
    ("grid", "window", "n_regular", "n_shifted"),
    [((31, 67, 120), (8, 15, 27), (4, 5, 5), (5, 5, 5)),  # 1920x1072, 121 frames
     ((9, 80, 45), (3, 27, 15), (3, 3, 3), (4, 4, 4))],  # 720x1280 portrait, 33 frames
)
def test_window_counts(grid, window, n_regular, n_shifted) -> None:  # noqa: ANN001
    assert window_size_720p(grid, NW) == window
    assert tuple(map(len, window_segments(grid, NW, shifted=False))) == n_regular
    assert tuple(map(len, window_segments(grid, NW, shifted=True))) == n_shifted


def test_bankers_rounding_of_the_720p_proxy() -> None:
    # scale = 0.5 exactly; h * scale = 12.5 rounds to 12 (half-up would give 13 and a window of 5).
    assert window_size_720p((1, 25, 576), NW) == (1, 4, 96)


def test_time_is_capped_at_30_latents() -> None:
    assert window_size_720p((61, 45, 80), NW)[0] == 8
    assert len(window_segments((61, 45, 80), NW, shifted=False)[0]) == 8


def test_shifted_segments_truncate_toward_zero() -> None:
    # window 3 over 7: shift 1.5 -> int(-1.5) = -1 -> clamped 0; int(1.5) = 1; ...
    assert shifted_segments(7, 3) == [(0, 1), (1, 4), (4, 7)]
    assert shifted_segments(5, 8) == [(0, 5)]  # window covers the axis: no shift


def test_slice_order_is_w_outer_t_inner() -> None:
    slices = window_slices((8, 45, 80), NW, shifted=False)
    assert [(s[0].start, s[1].start, s[2].start) for s in slices[:3]] == [(0, 0, 0), (2, 0, 0), (4, 0, 0)]
    assert slices[4][1].start == 15 and slices[4][2].start == 0


@settings(max_examples=40, deadline=None)
@given(t=st.integers(1, 40), h=st.integers(1, 70), w=st.integers(1, 70), shifted=st.booleans())
def test_windows_partition_the_grid(t: int, h: int, w: int, shifted: bool) -> None:
    cover = torch.zeros(t, h, w, dtype=torch.int32)
    for sl in window_slices((t, h, w), NW, shifted=shifted):
        cover[sl] += 1
    assert bool((cover == 1).all())


@pytest.mark.parametrize("rope", ["lang", "pixel"])
@pytest.mark.parametrize("shifted", [False, True])
def test_plan_sequences_are_windows_plus_text(rope: str, shifted: bool) -> None:
    grids, txt_lens = [(3, 10, 18), (1, 4, 30)], [5, 2]
    plan = build_window_plan(grids, txt_lens, NW, shifted=shifted, rope=rope)
    n_vid = sum(t * h * w for t, h, w in grids)
    idx, pos, cu = plan.pack_index, plan.positions, plan.layout.cu_seqlens.tolist()
    assert plan.qk_index is None
    assert cu[-1] == idx.numel() and plan.layout.seqlens == tuple(sorted(plan.layout.seqlens))
    # Expected sequences: every window of every sample, tokens in row-major order, then the sample's text.
    expected, off, toff = [], 0, 0
    for (t, h, w), n in zip(grids, txt_lens, strict=True):
        grid_idx = torch.arange(t * h * w).view(t, h, w) + off
        for sl in window_slices((t, h, w), NW, shifted=shifted):
            expected.append((grid_idx[sl].flatten().tolist(), list(range(n_vid + toff, n_vid + toff + n)),
                             tuple(s.stop - s.start for s in sl), n))
        off, toff = off + t * h * w, toff + n
    got = []
    for a, b in zip(cu[:-1], cu[1:], strict=True):
        rows = idx[a:b].tolist()
        vid = [r for r in rows if r < n_vid]
        assert rows == vid + [r for r in rows if r >= n_vid], "video first, then text"
        got.append((vid, rows[len(vid):], pos[a:b]))
    assert sorted((g[0], g[1]) for g in got) == sorted((e[0], e[1]) for e in expected)
    for vid, _, p in got:
        _, txt_rows, (wt, wh, ww), n = next(e for e in expected if e[0] == vid)
        vp, tp = p[: len(vid)].view(wt, wh, ww, 3), p[len(vid):]
        if rope == "lang":  # video (L + t, h, w), window-local; text (j, j, j)
            assert torch.equal(vp[..., 0], (torch.arange(wt).float() + n)[:, None, None].expand(wt, wh, ww))
            assert torch.equal(vp[..., 2], torch.arange(ww).float().expand(wt, wh, ww))
            assert torch.equal(tp, torch.arange(n).float()[:, None].expand(n, 3))
        else:  # linspace(-1, 1) over the window's own extent; text not rotated
            assert torch.equal(vp[..., 1], torch.linspace(-1, 1, wh)[None, :, None].expand(wt, wh, ww))
            assert not tp.any()


def test_plan_unpack_inverts_pack_and_averages_text() -> None:
    grids, txt_lens = [(2, 6, 8), (1, 4, 4)], [3, 2]
    plan = build_window_plan(grids, txt_lens, NW, shifted=True, rope="lang")
    vid, txt = torch.randn(2 * 6 * 8 + 16, 5), torch.randn(5, 5)
    v, t = plan.unpack(plan.pack(vid, txt))
    torch.testing.assert_close(v, vid, rtol=0, atol=0)
    torch.testing.assert_close(t, txt)  # the mean of identical copies
    # a per-row marker shows the text output is the mean over that sample's windows
    packed = torch.arange(plan.layout.total, dtype=torch.float64)[:, None]
    _, t = plan.unpack(packed)
    rows = plan.txt_gather[: plan.txt_windows[0] * 3].view(plan.txt_windows[0], 3).double()
    torch.testing.assert_close(t[:3, 0], rows.mean(0))
