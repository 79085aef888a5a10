import pytest
import torch

from seedvr.diffusion import (
    augment_condition,
    condition_noise_grid,
    condition_noise_timestep,
    resolution_shift,
    shift_timestep,
    sr_condition,
)


def test_shift_lines_pass_through_their_anchor_points():
    # Video: 256x256x37 -> 1.0 and 1280x720x145 -> 5.0, with F = 4(T'-1)+1 and 8x space.
    assert resolution_shift((10, 32, 32)) == pytest.approx(1.0)
    assert resolution_shift((37, 90, 160)) == pytest.approx(5.0)
    # A single frame uses the image line: 256^2 -> 1.0, 1024^2 -> 3.2.
    assert resolution_shift((1, 128, 128)) == pytest.approx(3.2)


def test_shift_timestep_keeps_endpoints_and_grows_with_shift():
    assert shift_timestep(0.0, 3.0) == 0.0
    assert shift_timestep(1000.0, 3.0) == pytest.approx(1000.0)
    assert shift_timestep(100.0, 1.0) == pytest.approx(100.0)
    assert shift_timestep(100.0, 3.0) > 100.0


def test_reference_quirk_at_720p():
    # 121 frames at 1280x720: latent (31, 90, 160, 16).
    shape = (31, 90, 160, 16)
    assert condition_noise_grid(shape) == (90, 160, 16)
    assert condition_noise_grid(shape, reference_quirk=False) == (31, 90, 160)
    quirk = condition_noise_timestep(shape, 0.1)
    intended = condition_noise_timestep(shape, 0.1, reference_quirk=False)
    assert 225 < quirk < 235  # shift ~2.71
    assert 320 < intended < 330  # shift ~4.33


def test_augment_condition():
    g = torch.Generator().manual_seed(0)
    lat, noise = torch.randn(2, 4, 6, 16, generator=g), torch.randn(2, 4, 6, 16, generator=g)
    assert augment_condition(lat, noise, 0.0) is lat
    out = augment_condition(lat, noise, 0.1)
    a = condition_noise_timestep(tuple(lat.shape), 0.1) / 1000
    torch.testing.assert_close(out, (1 - a) * lat + a * noise)


def test_sr_condition_appends_ones():
    lat = torch.randn(2, 3, 5, 16)
    cond = sr_condition(lat)
    assert cond.shape == (2, 3, 5, 17)
    assert torch.equal(cond[..., :16], lat) and torch.all(cond[..., 16] == 1)
