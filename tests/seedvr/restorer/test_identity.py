import numpy as np
import pytest

from seedvr.errors import ConfigError, InputError
from seedvr.restorer import IdentityRestorer, Restorer, TargetSize


def _clip(dtype=np.uint8, t=3, h=10, w=14):
    rng = np.random.default_rng(0)
    return rng.integers(0, np.iinfo(dtype).max, size=(t, h, w, 3), dtype=dtype)


def test_scale_one_is_exact_copy():
    frames = _clip()
    r = IdentityRestorer()
    out = r.restore(frames, seed=1)
    assert isinstance(r, Restorer)
    assert out.dtype == frames.dtype and np.array_equal(out, frames)
    assert out is not frames
    assert r.info["preset"] == "identity"


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_scale_two_resizes_and_keeps_dtype(dtype):
    frames = _clip(dtype)
    out = IdentityRestorer(scale=2).restore(frames, seed=0)
    assert out.shape == (3, 20, 28, 3) and out.dtype == dtype


def test_target_overrides_scale():
    out = IdentityRestorer(scale=2).restore(_clip(h=20, w=40), seed=0, target=TargetSize.by_short_side(10))
    assert out.shape == (3, 10, 20, 3)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((0, 4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8), np.zeros((1, 4, 4, 4), np.uint8),
     np.zeros((1, 4, 4, 3), np.float32), [[1]]],
)
def test_invalid_frames(bad):
    with pytest.raises(InputError):
        IdentityRestorer().restore(bad, seed=0)


def test_bad_scale():
    with pytest.raises(ConfigError):
        IdentityRestorer(scale=0)
