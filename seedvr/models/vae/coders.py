"""Encoder and decoder stacks of the causal video VAE, one chunk at a time.

Both take `(x, cache)` and return `(y, cache)`: pass `cache=None` for the first chunk of a clip (or a
whole clip) and the returned cache with the next chunk.
"""

from __future__ import annotations

from torch import Tensor, nn

from seedvr.models.vae.blocks import (
    NORM_EPS,
    DownBlock3D,
    FrameGroupNorm,
    MidBlock3D,
    UpBlock3D,
    norm_silu_padded,
)
from seedvr.models.vae.causal_conv import Cache, CausalConv3d, sub_cache
from seedvr.models.vae.config import VAEConfig


def _scale_kinds(cfg: VAEConfig) -> list[str | None]:
    """Resampling of each level, in encoder order: the last `temporal_scale_num` also scale time."""
    n = len(cfg.block_out_channels)
    kinds: list[str | None] = []
    for i in range(n - 1):
        kinds.append("spacetime" if i >= n - 1 - cfg.temporal_scale_num else "space")
    return [*kinds, None]


class Encoder3D(nn.Module):
    """conv_in, down blocks, mid block, per-frame norm, SiLU, conv_out to 2*latent (mean | logvar)."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        ch, g = cfg.block_out_channels, cfg.norm_num_groups
        self.conv_in = CausalConv3d(cfg.in_channels, ch[0], 3)
        kinds = _scale_kinds(cfg)
        self.down_blocks = nn.ModuleList(
            [
                DownBlock3D(ch[max(i - 1, 0)], ch[i], cfg.layers_per_block, g, kinds[i])
                for i in range(len(ch))
            ]
        )
        self.mid_block = MidBlock3D(ch[-1], g)
        self.conv_norm_out = FrameGroupNorm(g, ch[-1], eps=NORM_EPS)
        self.conv_out = CausalConv3d(ch[-1], 2 * cfg.latent_channels, 3)

    def forward(self, x: Tensor, cache: Cache | None = None) -> tuple[Tensor, Cache]:
        new: Cache = {}
        # 1. stem
        x, new["conv_in"] = self.conv_in(x, sub_cache(cache, "conv_in"))
        # 2. down path
        for i, block in enumerate(self.down_blocks):
            x, new[f"down_blocks.{i}"] = block(x, sub_cache(cache, f"down_blocks.{i}"))
        # 3. mid block
        x, new["mid_block"] = self.mid_block(x, sub_cache(cache, "mid_block"))
        # 4. head
        x = norm_silu_padded(self.conv_norm_out, x, self.conv_out, sub_cache(cache, "conv_out"))
        x, new["conv_out"] = self.conv_out(x, padded=True)
        return x, new


class Decoder3D(nn.Module):
    """conv_in, mid block, up blocks (layers_per_block + 1 resnets each), norm, SiLU, conv_out."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        ch, g = tuple(reversed(cfg.block_out_channels)), cfg.norm_num_groups
        self.conv_in = CausalConv3d(cfg.latent_channels, ch[0], 3)
        self.mid_block = MidBlock3D(ch[0], g)
        kinds = list(reversed(_scale_kinds(cfg)[:-1])) + [None]
        self.up_blocks = nn.ModuleList(
            [
                UpBlock3D(ch[max(i - 1, 0)], ch[i], cfg.layers_per_block + 1, g, kinds[i])
                for i in range(len(ch))
            ]
        )
        self.conv_norm_out = FrameGroupNorm(g, ch[-1], eps=NORM_EPS)
        self.conv_out = CausalConv3d(ch[-1], cfg.out_channels, 3)

    def forward(self, z: Tensor, cache: Cache | None = None) -> tuple[Tensor, Cache]:
        new: Cache = {}
        # 1. stem and mid block at latent resolution
        x, new["conv_in"] = self.conv_in(z, sub_cache(cache, "conv_in"))
        x, new["mid_block"] = self.mid_block(x, sub_cache(cache, "mid_block"))
        # 2. up path
        for i, block in enumerate(self.up_blocks):
            x, new[f"up_blocks.{i}"] = block(x, sub_cache(cache, f"up_blocks.{i}"))
        # 3. head
        x = norm_silu_padded(self.conv_norm_out, x, self.conv_out, sub_cache(cache, "conv_out"))
        x, new["conv_out"] = self.conv_out(x, padded=True)
        return x, new
