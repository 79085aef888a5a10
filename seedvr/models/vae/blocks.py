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


class FrameGroupNorm(nn.GroupNorm):
    """GroupNorm over (C/G, H, W) of each frame: no temporal statistics, hence causal."""

    def forward(self, x: Tensor) -> Tensor:  # x [B,C,T,H,W]
        frames = rearrange(x, "b c t h w -> (b t) c h w")
        y = F.group_norm(frames, self.num_groups, self.weight, self.bias, self.eps)
        return rearrange(y, "(b t) c h w -> b c t h w", b=x.shape[0])


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
        h = F.silu(self.norm1(x), inplace=True)
        h, c1 = self.conv1(h, sub_cache(cache, "conv1"))
        h = F.silu(self.norm2(h), inplace=True)
        h, c2 = self.conv2(h, sub_cache(cache, "conv2"))
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
        x = rearrange(
            self.upscale_conv(x), "b (x y z c) f h w -> b c (f z) (h x) (w y)", x=2, y=2, z=zt
        )
        if self.temporal and cache is None:
            x = torch.cat([x[:, :, :1], x[:, :, 2:]], dim=2)
        y, c = self.conv(x, sub_cache(cache, "conv"))
        return y, {"conv": c}


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
