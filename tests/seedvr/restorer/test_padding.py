import pytest
import torch

from seedvr.restorer.padding import SpatialPad, pad_frames, padded_frame_count


@pytest.mark.parametrize(("n", "expected"), [(1, 1), (2, 5), (5, 5), (6, 9), (9, 9), (10, 13)])
def test_padded_frame_count(n, expected):
    assert padded_frame_count(n) == expected


def test_pad_frames_repeats_the_last_frame():
    x = torch.arange(3.0).view(3, 1, 1, 1).expand(3, 2, 2, 2)
    y = pad_frames(x, 5)
    assert y.shape[0] == 5 and torch.equal(y[:3], x) and torch.all(y[3:] == 2.0)
    assert pad_frames(x, 3) is x


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
