"""Rectified-flow sampling as pure functions: schedule, trailing timesteps, Euler, CFG, condition."""

from seedvr.diffusion.condition import augment_condition, condition_noise_timestep, sr_condition
from seedvr.diffusion.noise import gaussian_noise
from seedvr.diffusion.sample import VelocityFn, sample
from seedvr.diffusion.schedule import (
    T_MAX,
    add_noise,
    classifier_free_guidance,
    euler_step,
    trailing_timesteps,
    v_to_x0,
    v_to_xT,
)
from seedvr.diffusion.shift import condition_noise_grid, resolution_shift, shift_timestep

__all__ = [
    "T_MAX",
    "VelocityFn",
    "add_noise",
    "augment_condition",
    "classifier_free_guidance",
    "condition_noise_grid",
    "condition_noise_timestep",
    "euler_step",
    "gaussian_noise",
    "resolution_shift",
    "sample",
    "shift_timestep",
    "sr_condition",
    "trailing_timesteps",
    "v_to_x0",
    "v_to_xT",
]
