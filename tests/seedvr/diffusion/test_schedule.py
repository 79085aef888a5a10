import pytest
import torch

from seedvr.diffusion import (
    add_noise,
    classifier_free_guidance,
    euler_step,
    sample,
    trailing_timesteps,
    v_to_x0,
    v_to_xT,
)


def _pair(seed=0, shape=(2, 3, 4)):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g), torch.randn(shape, generator=g)


def test_schedule_endpoints():
    x0, noise = _pair()
    assert torch.equal(add_noise(x0, noise, 0.0), x0)
    assert torch.equal(add_noise(x0, noise, 1000.0), noise)
    torch.testing.assert_close(add_noise(x0, noise, 250.0), 0.75 * x0 + 0.25 * noise)


def test_per_sample_times_broadcast():
    x0, noise = _pair()
    t = torch.tensor([0.0, 1000.0])
    out = add_noise(x0, noise, t)
    assert torch.equal(out[0], x0[0]) and torch.equal(out[1], noise[1])


def test_true_velocity_recovers_both_endpoints():
    x0, noise = _pair(1)
    for t in (1000.0, 500.0, 3.0):
        x_t = add_noise(x0, noise, t)
        v = noise - x0
        torch.testing.assert_close(v_to_x0(x_t, v, t), x0)
        torch.testing.assert_close(v_to_xT(x_t, v, t), noise)


def test_trailing_timesteps():
    ts = trailing_timesteps(50)
    assert ts[0] == 1000.0 and len(ts) == 50
    torch.testing.assert_close(ts[-1], torch.tensor(20.0))
    torch.testing.assert_close(ts[1], torch.tensor(980.0))
    assert trailing_timesteps(1).tolist() == [1000.0]
    with pytest.raises(ValueError):
        trailing_timesteps(0)


def test_one_step_is_noise_minus_v():
    _, noise = _pair(2)
    v = torch.randn(noise.shape, generator=torch.Generator().manual_seed(9))
    seen = []

    def velocity(x, t):
        seen.append(t)
        return v

    out = sample(velocity, noise, steps=1)
    assert seen == [1000.0]
    torch.testing.assert_close(out, noise - v)


@pytest.mark.parametrize("steps", [1, 3, 50])
def test_euler_is_exact_on_a_straight_line_field(steps):
    # The true velocity of a rectified flow between fixed endpoints is constant along the line.
    x0, noise = _pair(3)
    out = sample(lambda x, t: noise - x0, noise, steps=steps)
    torch.testing.assert_close(out, x0, rtol=1e-5, atol=1e-5)


def test_euler_step_matches_renoising_predicted_endpoints():
    x_t, v = _pair(4)
    t, s = 700.0, 300.0
    expected = add_noise(v_to_x0(x_t, v, t), v_to_xT(x_t, v, t), s)
    torch.testing.assert_close(euler_step(x_t, v, t, s), expected)


def test_cfg():
    pos, neg = _pair(5)
    assert classifier_free_guidance(pos, neg, 1.0) is pos
    torch.testing.assert_close(classifier_free_guidance(pos, neg, 0.0), neg)
    torch.testing.assert_close(classifier_free_guidance(pos, neg, 6.5), neg + 6.5 * (pos - neg))
