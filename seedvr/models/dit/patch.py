"""Patchify packed latents (1 x 2 x 2 patches, feature order (t, h, w, c)) and back."""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn


def _split(x: torch.Tensor, shapes: list[tuple[int, int, int]]) -> list[torch.Tensor]:
    return list(x.split([t * h * w for t, h, w in shapes]))


class PatchIn(nn.Module):
    """[sum T*H*W, C] -> [sum T*(H/ph)*(W/pw), D]."""

    def __init__(self, in_channels: int, patch_size: tuple[int, int, int], dim: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Linear(in_channels * patch_size[0] * patch_size[1] * patch_size[2], dim)

    def forward(self, vid: torch.Tensor, shapes: list[tuple[int, int, int]]) -> torch.Tensor:
        pt, ph, pw = self.patch_size
        if (pt, ph, pw) != (1, 1, 1):
            vid = torch.cat([
                rearrange(x, "(T t H h W w) c -> (T H W) (t h w c)", T=T // pt, H=H // ph, W=W // pw,
                          t=pt, h=ph, w=pw)
                for x, (T, H, W) in zip(_split(vid, shapes), shapes, strict=True)
            ])
        return self.proj(vid)


class PatchOut(nn.Module):
    """[sum tokens, D] -> [sum T*H*W, C] with `shapes` the (T, H, W) latent shapes before patchify."""

    def __init__(self, out_channels: int, patch_size: tuple[int, int, int], dim: int) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Linear(dim, out_channels * patch_size[0] * patch_size[1] * patch_size[2])

    def forward(self, vid: torch.Tensor, shapes: list[tuple[int, int, int]]) -> torch.Tensor:
        pt, ph, pw = self.patch_size
        vid = self.proj(vid)
        if (pt, ph, pw) == (1, 1, 1):
            return vid
        grids = [(T // pt, H // ph, W // pw) for T, H, W in shapes]
        return torch.cat([
            rearrange(x, "(T H W) (t h w c) -> (T t H h W w) c", T=T, H=H, W=W, t=pt, h=ph, w=pw)
            for x, (T, H, W) in zip(_split(vid, grids), grids, strict=True)
        ])
