"""The sampling loop: Euler along trailing timesteps, returning the data endpoint."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from seedvr.diffusion.schedule import T_MAX, euler_step, trailing_timesteps

# velocity(x_t, t) -> v, with t a float on the 0..T scale; CFG, if any, happens inside.
VelocityFn = Callable[[Tensor, float], Tensor]


def sample(velocity: VelocityFn, noise: Tensor, *, steps: int, T: float = T_MAX) -> Tensor:
    """Integrate from pure noise at t = T to t = 0 in `steps` Euler steps; one step gives noise - v."""
    timesteps = [float(t) for t in trailing_timesteps(steps, T)] + [0.0]
    x = noise
    for t, s in zip(timesteps[:-1], timesteps[1:], strict=True):
        x = euler_step(x, velocity(x, t), t, s, T)
    return x
