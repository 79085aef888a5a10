import pytest
import torch

from seedvr.restorer.colorfix import adain_color_fix, color_fix, wavelet_color_fix, wavelet_split


def _img(seed, shape=(3, 3, 40, 56)):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_bands_sum_to_the_image():
    x = _img(0)
    high, low = wavelet_split(x)
    torch.testing.assert_close(high + low, x)
    assert low.std() < x.std() / 2  # five levels of blur remove most of the variance


def test_first_level_kernel_is_binomial():
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 4] = 16.0
    _, low = wavelet_split(x, levels=1)
    expected = torch.tensor([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]])
    torch.testing.assert_close(low[0, 0, 3:6, 3:6], expected)
    assert low.sum() == pytest.approx(16.0)


def test_wavelet_keeps_detail_and_takes_colour_from_reference():
    sample = _img(1)
    torch.testing.assert_close(wavelet_color_fix(sample, sample), sample)
    shift = torch.tensor([0.2, -0.1, 0.05]).view(1, 3, 1, 1)
    torch.testing.assert_close(wavelet_color_fix(sample, sample + shift), sample + shift, atol=1e-5, rtol=0)


def test_adain_matches_channel_statistics():
    sample, ref = _img(2), _img(3) * 0.3 + 0.2
    out = adain_color_fix(sample, ref)
    torch.testing.assert_close(out.mean((0, 2, 3)), ref.mean((0, 2, 3)), atol=1e-4, rtol=0)
    torch.testing.assert_close(out.std((0, 2, 3)), ref.std((0, 2, 3)), atol=1e-4, rtol=1e-3)


def test_dispatch():
    sample, ref = _img(4), _img(5)
    assert color_fix(sample, ref, "none") is sample
    with pytest.raises(ValueError):
        color_fix(sample, ref, "lab")


def test_chunked_statistics_equal_whole_clip_statistics():
    from seedvr.restorer.colorfix import channel_stats

    x = _img(6, shape=(11, 3, 8, 10))
    mean, std = channel_stats([x[:4], x[4:8], x[8:]])
    torch.testing.assert_close(mean.flatten(), x.mean((0, 2, 3)))
    torch.testing.assert_close(std.flatten(), x.std((0, 2, 3)))
