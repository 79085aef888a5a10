"""The DiT's conditioning input for super-resolution: [noisy LQ latent (C) | mask of ones (1)]."""

from __future__ import annotations

import torch
from torch import Tensor

from seedvr.diffusion.schedule import T_MAX, add_noise
from seedvr.diffusion.shift import condition_noise_grid, resolution_shift, shift_timestep


def condition_noise_timestep(
    latent_thwc: tuple[int, ...], noise_scale: float, *, reference_quirk: bool = True, T: float = T_MAX
) -> float:
    """Time at which the LQ latent is noised: T·noise_scale, shifted by resolution."""
    grid = condition_noise_grid(latent_thwc, reference_quirk=reference_quirk)
    return shift_timestep(T * noise_scale, resolution_shift(grid), T)


def augment_condition(
    latent: Tensor, aug_noise: Tensor, noise_scale: float, *, reference_quirk: bool = True, T: float = T_MAX
) -> Tensor:
    """Blend the LQ latent (T', h, w, C) towards `aug_noise`; scale 0 returns it unchanged.

    The small blend hides VAE-specific detail of the LQ latent that the multi-step model was trained
    not to copy.
    """
    if noise_scale == 0.0:
        return latent
    t = condition_noise_timestep(tuple(latent.shape), noise_scale, reference_quirk=reference_quirk, T=T)
    return add_noise(latent, aug_noise, t, T)


def sr_condition(latent: Tensor) -> Tensor:
    """Append the all-ones "sr" mask channel: (T', h, w, C) -> (T', h, w, C + 1)."""
    ones = torch.ones(*latent.shape[:-1], 1, dtype=latent.dtype, device=latent.device)
    return torch.cat([latent, ones], dim=-1)
