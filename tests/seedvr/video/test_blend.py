"""Cross-fade weights and blending arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from seedvr.errors import ConfigError
from seedvr.video.blend import blend_frames, crossfade_weights, to_dtype


@pytest.mark.parametrize("kind", ["linear", "hann"])
def test_weights_ramp_strictly_inside_zero_one(kind: str) -> None:
    w = crossfade_weights(7, kind)
    assert w.shape == (7,)
    assert np.all(np.diff(w) > 0) and 0 < w[0] < 0.5 < w[-1] < 1
    np.testing.assert_allclose(w + w[::-1], 1.0)  # symmetric: neither segment is favoured


def test_none_is_a_hard_cut_and_empty_overlap_is_empty() -> None:
    assert not crossfade_weights(4, "none").any()
    assert crossfade_weights(0, "hann").shape == (0,)


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ConfigError, match="blend must be one of"):
        crossfade_weights(3, "cosine")


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_blending_equal_frames_is_exact(dtype: type) -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, np.iinfo(dtype).max, (5, 7, 3), dtype=dtype)
    for w in (0.1, 0.37, 0.9):
        assert np.array_equal(to_dtype(blend_frames(a, a, w), np.dtype(dtype)), a)


def test_blend_interpolates() -> None:
    a = np.zeros((2, 2, 3), np.uint8)
    b = np.full((2, 2, 3), 200, np.uint8)
    assert to_dtype(blend_frames(a, b, 0.25), np.dtype(np.uint8)).max() == 50
