"""Building blocks of the causal video VAE: per-frame norm, resnet, down/up samplers, mid block.

Every block that holds a causal conv has `forward(x, cache) -> (y, cache)`; see `causal_conv.py`.
Norms and attention work per frame (frames folded into the batch), so they never mix time and
chunked inference stays exact.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from seedvr.models.vae.causal_conv import Cache, CausalConv3d, sub_cache

NORM_EPS = 1e-6


# GroupNorm runs on slices of at most this many bytes (whole groups), so its temporaries stay small.
NORM_SLICE_BYTES = 256 * 2**20


class FrameGroupNorm(nn.GroupNorm):
    """GroupNorm over (C/G, H, W) of each frame: no temporal statistics, hence causal."""

    def forward(self, x: Tensor, out: Tensor | None = None) -> Tensor:
        """x [B,C,T,H,W] -> normalised, written into `out` (same shape, may be a view) when given.

        Frames are folded into the batch; big inputs go through in slices of whole groups, which is
        exact (groups are independent) and bounds the layout copies to one slice.
        """
        b, c = x.shape[:2]
        out = torch.empty_like(x, memory_format=torch.contiguous_format) if out is None else out
        n = _slices(self.num_groups, x.numel() * x.element_size())
        cs = c // n
        for i in range(n):
            part = slice(i * cs, (i + 1) * cs)
            frames = rearrange(x[:, part], "b c t h w -> (b t) c h w")
            y = F.group_norm(frames, self.num_groups // n, self.weight[part], self.bias[part], self.eps)
            out[:, part] = rearrange(y, "(b t) c h w -> b c t h w", b=b)
        return out


def _slices(groups: int, nbytes: int) -> int:
    """Smallest divisor of `groups` that brings a slice under NORM_SLICE_BYTES."""
    for n in range(1, groups + 1):
        if groups % n == 0 and nbytes / n <= NORM_SLICE_BYTES:
            return n
    return groups


def norm_silu_padded(norm: FrameGroupNorm, x: Tensor, conv: CausalConv3d, cache: Tensor | None) -> Tensor:
    """SiLU(norm(x)) written straight into `conv`'s padded input (head frames from `cache` or replicas).

    Saves the separate normalised tensor and the concatenation copy; callers drop `x` (when it is not
    a residual) before running the conv, so at most input, padded input and output coexist.
    """
    b, c, t, h, w = x.shape
    n_head = conv.kernel_size[0] - 1
    full = x.new_empty(b, c, n_head + t, h, w)
    body = full[:, :, n_head:]
    F.silu(norm(x, out=body), inplace=True)
    if n_head:
        full[:, :, :n_head] = body[:, :, :1] if cache is None else cache
    return full


class ResnetBlock3D(nn.Module):
    """norm1, SiLU, conv1, norm2, SiLU, conv2, plus a 1x1x1 shortcut when the width changes."""

    def __init__(self, in_channels: int, out_channels: int, groups: int) -> None:
        super().__init__()
        self.norm1 = FrameGroupNorm(groups, in_channels, eps=NORM_EPS)
        self.conv1 = CausalConv3d(in_channels, out_channels, 3)
        self.norm2 = FrameGroupNorm(groups, out_channels, eps=NORM_EPS)
        self.conv2 = CausalConv3d(out_channels, out_channels, 3)
        self.conv_shortcut = (
            nn.Conv3d(in_channels, out_channels, kernel_size=1) if in_channels != out_channels else None
        )

    def forward(self, x: Tensor, cache: Cache | None = None) -> tuple[Tensor, Cache]:
        # Each padded input and intermediate is dropped as soon as the next step no longer needs it.
        padded = norm_silu_padded(self.norm1, x, self.conv1, sub_cache(cache, "conv1"))
        h, c1 = self.conv1(padded, padded=True)
        del padded
        padded = norm_silu_padded(self.norm2, h, self.conv2, sub_cache(cache, "conv2"))
        del h
        h, c2 = self.conv2(padded, padded=True)
        del padded
        skip = x if self.conv_shortcut is None else self.conv_shortcut(x)
        return h.add_(skip), {"conv1": c1, "conv2": c2}


class Downsample3D(nn.Module):
    """Stride-2 conv in space (and time when `temporal`), after a zero pad of 1 on the right and bottom."""

    def __init__(self, channels: int, temporal: bool) -> None:
        super().__init__()
        kt = 3 if temporal else 1
        self.conv = CausalConv3d(
            channels, channels, (kt, 3, 3), stride=(2 if temporal else 1, 2, 2), spatial_padding=0
        )

    def forward(self, x: Tensor, cache: Cache | None = None) -> tuple[Tensor, Cache]:
        y, c = self.conv(F.pad(x, (0, 1, 0, 1)), sub_cache(cache, "conv"))
        return y, {"conv": c}


class Upsample3D(nn.Module):
    """MAGVIT-v2 style: 1x1x1 conv to C*r channels, depth-to-space in (x y z c) order, causal conv.

    With temporal up, frame 0 of a clip produces a duplicate (it stands alone in the latent), which is
    dropped on the first chunk: n latents -> 2n - 1 frames.
    """

    def __init__(self, channels: int, temporal: bool) -> None:
        super().__init__()
        self.temporal = temporal
        self.upscale_conv = nn.Conv3d(channels, channels * 4 * (2 if temporal else 1), kernel_size=1)
        self.conv = CausalConv3d(channels, channels, 3)

    def forward(self, x: Tensor, cache: Cache | None = None) -> tuple[Tensor, Cache]:
        zt = 2 if self.temporal else 1
        conv_cache = sub_cache(cache, "conv")
        # (x y z c) channel blocks -> sub-pixel offsets; splits and a permute only, so still a view.
        src = rearrange(self.upscale_conv(x), "b (x y z c) f h w -> b c f z h x w y", x=2, y=2, z=zt)
        b, c, f, _, h, _, w, _ = src.shape
        drop = self.temporal and conv_cache is None
        n_head = self.conv.kernel_size[0] - 1
        # The conv's padded input is assembled in place: head frames, then the depth-to-space output
        # (one copy instead of separate rearrange, frame-drop and concatenation copies).
        full = src.new_empty(b, c, n_head + f * zt - int(drop), 2 * h, 2 * w)
        body = full[:, :, n_head:]
        if drop:  # keep (f=0, z=0), skip its duplicate (f=0, z=1)
            _as_blocks(body[:, :, :1], 1).copy_(src[:, :, :1, :1])
            _as_blocks(body[:, :, 1:], zt).copy_(src[:, :, 1:])
        else:
            _as_blocks(body, zt).copy_(src)
        del src  # release the C*r-channel tensor before the conv allocates its output
        if n_head:
            full[:, :, :n_head] = body[:, :, :1] if conv_cache is None else conv_cache
        y, c_new = self.conv(full, padded=True)
        return y, {"conv": c_new}


def _as_blocks(frames: Tensor, zt: int) -> Tensor:
    """View [B,C,F*z,H*2,W*2] as [B,C,F,z,H,2,W,2]; `Tensor.view` fails rather than copy, so writes land."""
    b, c, t, h2, w2 = frames.shape
    return frames.view(b, c, t // zt, zt, h2 // 2, 2, w2 // 2, 2)


class FrameAttention(nn.Module):
    """Single-head self-attention over the h*w tokens of each frame, with GroupNorm and residual.

    Frames are folded into the batch so one SDPA call covers the whole chunk.
    """

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, channels, eps=NORM_EPS)
        self.to_q = nn.Linear(channels, channels)
        self.to_k = nn.Linear(channels, channels)
        self.to_v = nn.Linear(channels, channels)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels)])

    def forward(self, x: Tensor) -> Tensor:  # x [B,C,T,H,W]
        b, _, _, h, _ = x.shape
        frames = self.group_norm(rearrange(x, "b c t h w -> (b t) c h w"))
        tokens = rearrange(frames, "n c h w -> n (h w) c")
        # One matmul for q, k and v reads the tokens once.
        w = torch.cat([self.to_q.weight, self.to_k.weight, self.to_v.weight])
        bias = torch.cat([self.to_q.bias, self.to_k.bias, self.to_v.bias])
        q, k, v = rearrange(F.linear(tokens, w, bias), "n l (three c) -> three n 1 l c", three=3)
        out = self.to_out[0](F.scaled_dot_product_attention(q, k, v)[:, 0])
        return x + rearrange(out, "(b t) (h w) c -> b c t h w", b=b, h=h)


class MidBlock3D(nn.Module):
    """resnet, per-frame attention, resnet at the lowest resolution."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock3D(channels, channels, groups) for _ in range(2)])
        self.attentions = nn.ModuleList([FrameAttention(channels, groups)])

    def forward(self, x: Tensor, cache: Cache | None = None) -> tuple[Tensor, Cache]:
        x, c0 = self.resnets[0](x, sub_cache(cache, "resnets.0"))
        x = self.attentions[0](x)
        x, c1 = self.resnets[1](x, sub_cache(cache, "resnets.1"))
        return x, {"resnets.0": c0, "resnets.1": c1}


class DownBlock3D(nn.Module):
    """Resnets at one resolution, then an optional downsampler."""

    def __init__(
        self, in_channels: int, out_channels: int, layers: int, groups: int, down: str | None
    ) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(
            [ResnetBlock3D(in_channels if i == 0 else out_channels, out_channels, groups) for i in range(layers)]
        )
        self.downsamplers = (
            nn.ModuleList([Downsample3D(out_channels, temporal=down == "spacetime")]) if down else None
        )

    def forward(self, x: Tensor, cache: Cache | None = None) -> tuple[Tensor, Cache]:
        new: Cache = {}
        for i, resnet in enumerate(self.resnets):
            x, new[f"resnets.{i}"] = resnet(x, sub_cache(cache, f"resnets.{i}"))
        if self.downsamplers is not None:
            x, new["downsamplers.0"] = self.downsamplers[0](x, sub_cache(cache, "downsamplers.0"))
        return x, new


class UpBlock3D(nn.Module):
    """Resnets at one resolution, then an optional upsampler."""

    def __init__(self, in_channels: int, out_channels: int, layers: int, groups: int, up: str | None) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(
            [ResnetBlock3D(in_channels if i == 0 else out_channels, out_channels, groups) for i in range(layers)]
        )
        self.upsamplers = nn.ModuleList([Upsample3D(out_channels, temporal=up == "spacetime")]) if up else None

    def forward(self, x: Tensor, cache: Cache | None = None) -> tuple[Tensor, Cache]:
        new: Cache = {}
        for i, resnet in enumerate(self.resnets):
            x, new[f"resnets.{i}"] = resnet(x, sub_cache(cache, f"resnets.{i}"))
        if self.upsamplers is not None:
            x, new["upsamplers.0"] = self.upsamplers[0](x, sub_cache(cache, "upsamplers.0"))
        return x, new
