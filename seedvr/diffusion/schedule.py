"""Rectified-flow ("lerp") schedule with v prediction, T = 1000.

x_t = (1 - t/T)·x_0 + (t/T)·x_T with x_T Gaussian; the network predicts v = x_T - x_0, so each
endpoint is one multiply-add away from x_t. Times are float tensors or numbers on the 0..T scale.
"""

from __future__ import annotations

import torch
from torch import Tensor

T_MAX = 1000.0

TimeLike = Tensor | float


def _bcast(t: TimeLike, like: Tensor) -> Tensor | float:
    """Broadcast a per-sample time [B] against `like` [B, ...]; plain numbers pass through."""
    if isinstance(t, Tensor) and t.ndim > 0:
        return t.to(like.dtype).reshape(t.shape + (1,) * (like.ndim - t.ndim))
    return float(t)


def add_noise(x0: Tensor, noise: Tensor, t: TimeLike, T: float = T_MAX) -> Tensor:
    """Forward process: the point at time t on the straight line from x0 (t=0) to noise (t=T)."""
    a = _bcast(t, x0) / T
    return (1 - a) * x0 + a * noise


def v_to_x0(x_t: Tensor, v: Tensor, t: TimeLike, T: float = T_MAX) -> Tensor:
    """Data endpoint implied by a velocity prediction."""
    return x_t - _bcast(t, x_t) / T * v


def v_to_xT(x_t: Tensor, v: Tensor, t: TimeLike, T: float = T_MAX) -> Tensor:
    """Noise endpoint implied by a velocity prediction."""
    return x_t + (1 - _bcast(t, x_t) / T) * v


def trailing_timesteps(steps: int, T: float = T_MAX) -> Tensor:
    """Uniform trailing timesteps T·(1 - i/N), i = 0..N-1 (1000, 980, ..., 20 for N = 50); no shift.

    Trailing spacing starts at exactly t = T, so the first step sees pure noise (the one-step model
    was distilled for that point).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    i = torch.arange(steps, dtype=torch.float64)
    return (T * (1 - i / steps)).to(torch.float32)


def euler_step(x_t: Tensor, v: Tensor, t: TimeLike, s: TimeLike, T: float = T_MAX) -> Tensor:
    """Move from time t to time s along the predicted straight line: x_s = x_t + (s - t)/T · v.

    This equals re-noising the predicted x_0 to time s with the predicted x_T; s = 0 gives x̂_0.
    """
    return x_t + (_bcast(s, x_t) - _bcast(t, x_t)) / T * v


def classifier_free_guidance(pos: Tensor, neg: Tensor, scale: float) -> Tensor:
    """neg + scale·(pos - neg); scale 1 returns `pos` itself, so the negative pass can be skipped."""
    if scale == 1.0:
        return pos
    return neg + scale * (pos - neg)
