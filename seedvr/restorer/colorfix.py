"""Colour correction: keep the model's detail, take the low frequencies (colour, tone) from the input.

A one-step model can drift in colour; the LQ input at output size still has the right colours, only
blurred, so its low-pass band is the better estimate of them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor

WAVELET_LEVELS = 5
_EPS = 1e-5


@functools.lru_cache(maxsize=16)
def _binomial_kernel(channels: int, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Depthwise [C, 1, 3, 3] binomial kernel ([1,2,1] outer product / 16), built once per device and dtype.

    Building it per call meant a host-to-device copy (a synchronisation) and three small tensors per blur,
    ten blurs per chunk; cached, a colour fix queues its kernels and never waits for the device.
    """
    # A normal tensor even when first built under inference_mode, so autograd callers can use the cache too.
    with torch.inference_mode(False):
        k1 = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64)
        kernel = (k1[:, None] * k1[None, :] / 16).to(dtype)  # 1/16, 2/16, 4/16: exact in every dtype
        return kernel.expand(channels, 1, 3, 3).contiguous().to(device)


def _blur(x: Tensor, radius: int) -> Tensor:
    """Depthwise 3x3 binomial blur dilated by `radius`, replicate-padded."""
    kernel = _binomial_kernel(x.shape[1], x.dtype, x.device)
    padded = F.pad(x, (radius,) * 4, mode="replicate")
    return F.conv2d(padded, kernel, groups=x.shape[1], dilation=radius)


def wavelet_split(x: Tensor, levels: int = WAVELET_LEVELS) -> tuple[Tensor, Tensor]:
    """(high, low) of images [N, C, H, W]: `levels` à-trous bands with radii 1, 2, 4, ...; high + low = x."""
    low = x
    high = torch.zeros_like(x)
    for i in range(levels):
        blurred = _blur(low, 2**i)
        high = high + (low - blurred)
        low = blurred
    return high, low


def wavelet_color_fix(sample: Tensor, reference: Tensor, levels: int = WAVELET_LEVELS) -> Tensor:
    """high(sample) + low(reference) for [N, C, H, W] tensors of the same size; not clamped."""
    high, _ = wavelet_split(sample, levels)
    _, low = wavelet_split(reference, levels)
    return high + low


def channel_stats(chunks: Iterable[Tensor]) -> tuple[Tensor, Tensor]:
    """Per-channel mean and (unbiased) std over all frames and pixels of [N, C, H, W] chunks.

    Accumulated in float64 chunk by chunk, so a long clip never needs to be in memory at once.
    """
    total = sq = None
    count = 0
    for x in chunks:
        x = x.double()
        s, q = x.sum((0, 2, 3)), (x * x).sum((0, 2, 3))
        total, sq = (s, q) if total is None else (total + s, sq + q)
        count += x.numel() // x.shape[1]
    if total is None:
        raise ValueError("channel_stats needs at least one chunk")
    mean = total / count
    var = (sq - total * mean) / max(count - 1, 1)
    return mean.float().view(1, -1, 1, 1), var.clamp_min(0).sqrt().float().view(1, -1, 1, 1)


def adain_apply(sample: Tensor, sample_stats: tuple[Tensor, Tensor], ref_stats: tuple[Tensor, Tensor]) -> Tensor:
    """Shift and scale each channel from the sample's statistics to the reference's."""
    (s_mean, s_std), (r_mean, r_std) = sample_stats, ref_stats
    return (sample - s_mean) / (s_std + _EPS) * r_std + r_mean


def adain_color_fix(sample: Tensor, reference: Tensor) -> Tensor:
    """Match each channel's mean and std over (frames, H, W) to the reference's."""
    return adain_apply(sample, channel_stats([sample]), channel_stats([reference]))


def color_fix(sample: Tensor, reference: Tensor, method: str) -> Tensor:
    """Dispatch on the preset's `color_fix` ("wavelet", "adain" or "none"), computed in fp32."""
    if method == "none":
        return sample
    s, r = sample.float(), reference.float()
    if method == "wavelet":
        return wavelet_color_fix(s, r)
    if method == "adain":
        return adain_color_fix(s, r)
    raise ValueError(f"color_fix must be 'wavelet', 'adain' or 'none', got {method!r}")
