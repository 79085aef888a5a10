import pytest
import torch

from seedvr.restorer.padding import SpatialPad, padded_frame_count


@pytest.mark.parametrize(("n", "expected"), [(1, 1), (2, 5), (5, 5), (6, 9), (9, 9), (10, 13)])
def test_padded_frame_count(n, expected):
    assert padded_frame_count(n) == expected


@pytest.mark.parametrize("mode", ["replicate", "reflect"])
@pytest.mark.parametrize(("h", "w"), [(32, 48), (30, 45), (5, 7)])
def test_spatial_pad_round_trip(mode, h, w):
    x = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(0))
    pad = SpatialPad.for_size(h, w)
    y = pad.apply(x, mode)
    assert y.shape[-2] % 16 == 0 and y.shape[-1] % 16 == 0
    assert torch.equal(pad.crop(y), x)
    if pad.pad_right:
        # reflect mirrors around the edge pixel; it needs pad < size, else replicate is used
        reflects = mode == "reflect" and pad.pad_right < w and pad.pad_bottom < h
        source = w - 2 if reflects else w - 1
        assert torch.equal(y[..., :h, w], x[..., source])
