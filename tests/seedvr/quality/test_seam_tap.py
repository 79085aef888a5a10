import numpy as np

from seedvr.quality import seam_scores, warp_errors
from seedvr.quality.seam_tap import SeamTap


def panning_clip(frames: int, jump_at: int | None = None, seed: int = 0) -> np.ndarray:
    """A textured scene panning one pixel per frame; optional brightness jump from `jump_at` on."""
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 200, (48, 96 + frames, 3)).astype(np.float32)
    clip = np.stack([base[:, t : t + 96] for t in range(frames)])
    if jump_at is not None:
        clip[jump_at:] += 30
    return np.clip(clip, 0, 255).astype(np.uint8)


def test_tap_equals_scoring_each_join_window_of_the_whole_clip() -> None:
    clip, joins, window = panning_clip(40, jump_at=20), [12, 20, 31], 6
    tap = SeamTap(joins, len(clip), window=window)
    for i, frame in enumerate(clip):
        tap(i, frame)
    expected = {}
    for b in joins:
        lo, hi = max(0, b - window - 1), min(len(clip), b + window + 1)
        expected[b] = seam_scores(warp_errors(clip[lo:hi]), [b - lo], window=window)[b - lo]
    assert tap.scores == expected
    assert max(tap.scores, key=tap.scores.get) == 20  # the planted jump is the worst seam


def test_tap_keeps_only_one_neighbourhood_at_a_time() -> None:
    clip, window = panning_clip(120), 4
    tap = SeamTap(range(10, 120, 10), len(clip), window=window)
    most = 0
    for i, frame in enumerate(clip):
        tap(i, frame)
        most = max(most, len(tap._kept))
    assert most <= 2 * window + 2
    assert sorted(tap.scores) == list(range(10, 120, 10))


def test_warp_errors_of_many_pairs_are_each_pairs_warp_error() -> None:
    """Frames shared by two pairs are prepared once; the values stay those of `warp_error`, pair by pair."""
    from seedvr.quality import warp_error

    clip = panning_clip(9, jump_at=5)
    small = clip[:, ::2, ::2].copy()
    assert warp_errors(clip) == {t: warp_error(clip, t) for t in range(8)}
    assert warp_errors(clip, [6, 1, 2], flow_frames=small) == {t: warp_error(clip, t, flow_frames=small)
                                                               for t in (1, 2, 6)}


def test_a_reused_flow_estimator_gives_the_flow_of_a_fresh_one() -> None:
    """Each thread keeps DIS estimators (per preset and frame size): pairs of any size, in any order, get
    the flow a new estimator would compute (an estimator keeps the scales it chose for a small frame)."""
    import cv2

    from seedvr.quality.temporal import DIS_PRESETS, _dis

    rng = np.random.default_rng(3)
    for h, w in [(32, 48), (120, 160), (32, 48), (90, 64)]:
        a = rng.integers(0, 255, (h, w), dtype=np.uint8)
        b = np.roll(a, 2, axis=1)
        fresh = cv2.DISOpticalFlow_create(DIS_PRESETS["fast"]).calc(a, b, None)
        assert np.array_equal(_dis("fast", (h, w)).calc(a, b, None), fresh)
