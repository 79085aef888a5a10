"""Spatial tiling of VAE encode/decode so that 1080p and 4K frames fit a 24 GB GPU.

Tiles cover the frame in space only (time keeps the causal slicing of the model). Neighbouring tiles
overlap; in the overlap the two outputs are cross-faded with raised-cosine ramps, and every pixel is
divided by the sum of the weights that reached it, so the blend is a convex combination. Outer frame
borders get no fade. A frame that fits in one tile takes the untiled path, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from seedvr.errors import ConfigError

# Tiles are placed on the latent grid: one unit is 8 pixels.
TILE_UNIT_PX = 8
# Below this, the mid-block attention sees too little context and seams become visible.
MIN_TILE_PX = 64


@dataclass(frozen=True)
class VAETiling:
    """Tile edge and overlap in pixels (of the frames: the VAE input for encode, its output for decode).

    Peak tensor memory (SeedVR VAE, bf16, 21 frames, estimated with fake tensors by
    `bench/bench_vae.py --estimate-memory`): decode 3840x2160 needs 12.3 GiB with 1024 px tiles and
    5.2 GiB with 512 px; 1920x1080 needs 10.3 / 3.5 GiB (32.2 GiB untiled). Overlap trades compute
    for smoother seams. The default is the conservative 512 px; 1024/128 fits a 24 GB GPU with fewer seams.
    """

    tile_px: int = 512
    overlap_px: int = 64

    def __post_init__(self) -> None:
        for name in ("tile_px", "overlap_px"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool):
                raise ConfigError(f"VAETiling.{name} must be an int, got {v!r}")
            if v % TILE_UNIT_PX:
                raise ConfigError(
                    f"VAETiling.{name}={v} must be a multiple of {TILE_UNIT_PX} (the latent grid); "
                    f"use {v // TILE_UNIT_PX * TILE_UNIT_PX}"
                )
        if self.tile_px < MIN_TILE_PX:
            raise ConfigError(f"VAETiling.tile_px={self.tile_px} is below the minimum {MIN_TILE_PX}")
        if not 0 <= 2 * self.overlap_px <= self.tile_px:
            raise ConfigError(
                f"VAETiling.overlap_px={self.overlap_px} must lie in [0, tile_px/2={self.tile_px // 2}]"
            )

    def smaller(self) -> VAETiling | None:
        """Half the tile (for an out-of-memory retry), or None when already at the minimum."""
        tile = self.tile_px // 2 // TILE_UNIT_PX * TILE_UNIT_PX
        if tile < MIN_TILE_PX:
            return None
        overlap = min(self.overlap_px, tile // 4 // TILE_UNIT_PX * TILE_UNIT_PX)
        return VAETiling(tile, overlap)


def plan_tiles(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """(start, size) of equal tiles covering [0, length), each at most `tile` and overlapping >= `overlap`.

    The count is the smallest that covers the length; the tiles then shrink to share it evenly, so
    overlaps stay close to the requested one instead of piling up on the last tile.
    """
    if length <= tile:
        return [(0, length)]
    n = math.ceil((length - overlap) / (tile - overlap))
    size = math.ceil((length + (n - 1) * overlap) / n)
    starts = [min(i * (size - overlap), length - size) for i in range(n)]
    return [(s, size) for s in starts]


def _ramp(n: int, device: torch.device) -> Tensor:
    """Raised cosine from ~0 to ~1 over n samples; ramp(k) + ramp(n-1-k) = 1."""
    k = torch.arange(n, device=device, dtype=torch.float32)
    return 0.5 - 0.5 * torch.cos(math.pi * (k + 0.5) / n)


def axis_weights(tiles: list[tuple[int, int]], scale: int, device: torch.device) -> list[Tensor]:
    """1-D blend weight of each tile (in output units = tile units * scale): ramps where neighbours overlap."""
    out = []
    for i, (s, n) in enumerate(tiles):
        w = torch.ones(n * scale, device=device, dtype=torch.float32)
        if i > 0:
            ov = (tiles[i - 1][0] + tiles[i - 1][1] - s) * scale
            w[:ov] = _ramp(ov, device)
        if i < len(tiles) - 1:
            ov = (s + n - tiles[i + 1][0]) * scale
            w[n * scale - ov :] = _ramp(ov, device).flip(0)
        out.append(w)
    return out


def _scaled(s: slice, k: int) -> slice:
    return slice(s.start * k, s.stop * k)


def tiled_map(
    fn: Callable[[Tensor], Tensor], x: Tensor, *, tiling: VAETiling, unit_in: int, unit_out: int
) -> Tensor:
    """Apply `fn` ([B,C,T,H,W] -> [B,C',T',H*s,W*s]) tile by tile over H and W and blend the outputs.

    `unit_in` / `unit_out` are the sizes of one latent-grid unit in the input and output (8 and 1 for
    encode, 1 and 8 for decode); the tile plan is computed on that grid, in units of 8 pixels.
    """
    tile_u, overlap_u = tiling.tile_px // TILE_UNIT_PX, tiling.overlap_px // TILE_UNIT_PX
    rows = plan_tiles(x.shape[-2] // unit_in, tile_u, overlap_u)
    cols = plan_tiles(x.shape[-1] // unit_in, tile_u, overlap_u)
    if len(rows) == 1 and len(cols) == 1:
        return fn(x)

    wr, wc = axis_weights(rows, unit_out, x.device), axis_weights(cols, unit_out, x.device)
    tiles = [
        (slice(r0, r0 + rn), slice(c0, c0 + cn), w_r[:, None] * w_c[None, :])
        for (r0, rn), w_r in zip(rows, wr, strict=True)
        for (c0, cn), w_c in zip(cols, wc, strict=True)
    ]
    # Weight sum over all tiles, so each tile's weight is normalised before accumulation.
    total = x.new_zeros(
        (rows[-1][0] + rows[-1][1]) * unit_out, (cols[-1][0] + cols[-1][1]) * unit_out, dtype=torch.float32
    )
    for r, c, w in tiles:
        total[_scaled(r, unit_out), _scaled(c, unit_out)] += w

    out: Tensor | None = None
    for r, c, w in tiles:
        y = fn(x[..., _scaled(r, unit_in), _scaled(c, unit_in)])
        if out is None:
            out = y.new_zeros(*y.shape[:-2], *total.shape)
        ro, co = _scaled(r, unit_out), _scaled(c, unit_out)
        out[..., ro, co] += y * (w / total[ro, co]).to(y.dtype)
        del y
    assert out is not None
    return out
