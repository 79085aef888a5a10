"""The causal video VAE of SeedVR / SeedVR2 ("s8_c16_t4"): 8x space, 4x time, 16 latent channels.

`4n + 1` frames encode to `n + 1` latents (frame 0 alone, then 4 frames per latent) and decode back.
Long clips run in causal chunks (encode: frames 0..4, then 4 at a time; decode: latents 0..1, then one
at a time) with the conv caches carried over, which is exact and bounds activation memory by the chunk.
Optional spatial tiling (`VAETiling`) bounds it further for 1080p and 4K.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import Tensor, nn

from seedvr.errors import ConfigError, InputError
from seedvr.models.vae.causal_conv import Cache
from seedvr.models.vae.coders import Decoder3D, Encoder3D
from seedvr.models.vae.config import VAEConfig
from seedvr.models.vae.tiling import VAETiling, tiled_map

LOGVAR_RANGE = (-30.0, 20.0)


class VideoVAE(nn.Module):
    """Encoder + decoder with the product API; state-dict keys equal the released `ema_vae` weights."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        s, t = 2 ** (len(cfg.block_out_channels) - 1), 2**cfg.temporal_scale_num
        if (s, t) != (cfg.spatial_downsample_factor, cfg.temporal_downsample_factor):
            raise ConfigError(
                f"{len(cfg.block_out_channels)} levels with temporal_scale_num={cfg.temporal_scale_num} give "
                f"{s}x space and {t}x time, but the config says {cfg.spatial_downsample_factor}x and "
                f"{cfg.temporal_downsample_factor}x"
            )
        if cfg.encode_slice_frames < 1 or cfg.encode_slice_frames % t:
            raise ConfigError(f"encode_slice_frames={cfg.encode_slice_frames} must be a positive multiple of {t}")
        if cfg.decode_slice_latents < 1:
            raise ConfigError(f"decode_slice_latents={cfg.decode_slice_latents} must be >= 1")
        self.cfg = cfg
        self.encoder = Encoder3D(cfg)
        self.decoder = Decoder3D(cfg)

    # -- public API -------------------------------------------------------------------------------

    @torch.no_grad()
    def encode_moments(self, x: Tensor, *, sliced: bool = True, tiling: VAETiling | None = None) -> Tensor:
        """x [B,3,T,H,W] in [-1,1], T = 4n+1 -> moments [B,2*latent,n+1,H/8,W/8] (mean | logvar)."""
        self._check_video(x)
        return self._run(self.encoder, x, chunk=self.cfg.encode_slice_frames, sliced=sliced,
                         total=self.num_latent_frames(x.shape[2]), tiling=tiling,
                         unit_in=self.cfg.spatial_downsample_factor, unit_out=1)

    def encode(
        self,
        x: Tensor,
        *,
        sample: bool,
        generator: torch.Generator | None = None,
        sliced: bool = True,
        tiling: VAETiling | None = None,
    ) -> Tensor:
        """x -> unscaled latent [B,latent,n+1,H/8,W/8]: a posterior sample (as SeedVR2 conditions on) or the mean."""
        moments = self.encode_moments(x, sliced=sliced, tiling=tiling)
        mean, logvar = moments.chunk(2, dim=1)
        if not sample:
            return mean
        std = torch.exp(0.5 * logvar.clamp(*LOGVAR_RANGE))
        # Drawn on the generator's device in fp32, so a seed gives the same latent on any device/dtype.
        device = generator.device if generator is not None else mean.device
        noise = torch.randn(mean.shape, generator=generator, device=device, dtype=torch.float32)
        return mean + std * noise.to(mean)

    @torch.no_grad()
    def decode(self, z: Tensor, *, sliced: bool = True, tiling: VAETiling | None = None) -> Tensor:
        """Unscaled latent [B,latent,n+1,h,w] -> frames [B,3,4n+1,8h,8w], roughly in [-1,1] (not clipped)."""
        if z.ndim != 5 or z.shape[1] != self.cfg.latent_channels or z.shape[2] < 1:
            raise InputError(
                f"decode expects latents [B,{self.cfg.latent_channels},T',h,w] with T' >= 1, got {tuple(z.shape)}"
            )
        return self._run(self.decoder, z, chunk=self.cfg.decode_slice_latents, sliced=sliced,
                         total=self.num_frames(z.shape[2]), tiling=tiling,
                         unit_in=1, unit_out=self.cfg.spatial_downsample_factor)

    def num_latent_frames(self, frames: int) -> int:
        return (frames - 1) // self.cfg.temporal_downsample_factor + 1

    def num_frames(self, latent_frames: int) -> int:
        return (latent_frames - 1) * self.cfg.temporal_downsample_factor + 1

    # -- internals --------------------------------------------------------------------------------

    def _check_video(self, x: Tensor) -> None:
        t, s = self.cfg.temporal_downsample_factor, self.cfg.spatial_downsample_factor
        if x.ndim != 5 or x.shape[1] != self.cfg.in_channels:
            raise InputError(f"encode expects video [B,{self.cfg.in_channels},T,H,W], got {tuple(x.shape)}")
        frames, h, w = x.shape[2:]
        if frames % t != 1:
            lo = (frames - 1) // t * t + 1
            raise InputError(
                f"the causal VAE needs {t}n+1 frames, got {frames}; trim to {lo} or pad to {lo + t} frames"
            )
        if h % s or w % s:
            raise InputError(
                f"frame size {h}x{w} (HxW) must be divisible by {s}; crop or pad to "
                f"{h // s * s}x{w // s * s} or {-(-h // s) * s}x{-(-w // s) * s}"
            )

    def _run(
        self,
        net: Encoder3D | Decoder3D,
        x: Tensor,
        *,
        chunk: int,
        sliced: bool,
        total: int,
        tiling: VAETiling | None,
        unit_in: int,
        unit_out: int,
    ) -> Tensor:
        """Encode and decode alike: cast to `net`'s weights, stream causal chunks, optionally tile by tile.

        `chunk` is the frames (encode) or latents (decode) per causal chunk; `unit_in`/`unit_out` are the
        pixels per spatial unit of input and output, which tiling needs to map tile bounds across `net`.
        """
        weight = net.conv_in.weight
        x = x.to(device=weight.device, dtype=weight.dtype)
        run = partial(self._stream, net, bounds=_causal_chunks(x.shape[2], chunk, sliced), total=total)
        if tiling is None:
            return run(x)
        return tiled_map(run, x, tiling=tiling, unit_in=unit_in, unit_out=unit_out)

    def _stream(
        self,
        net: Callable[[Tensor, Cache | None], tuple[Tensor, Cache]],
        x: Tensor,
        *,
        bounds: list[tuple[int, int]],
        total: int,
    ) -> Tensor:
        """Run `net` chunk by chunk with its cache and write each chunk's output into one `total`-frame buffer."""
        out: Tensor | None = None
        cache: Cache | None = None
        pos = 0
        for a, b in bounds:
            y, cache = net(x[:, :, a:b], cache)
            if out is None:
                out = y.new_empty(*y.shape[:2], total, *y.shape[3:])
            out[:, :, pos : pos + y.shape[2]] = y
            pos += y.shape[2]
            del y  # free the chunk's output before the next chunk's activations are allocated
        assert out is not None and pos == total, (pos, total)
        return out


def _causal_chunks(length: int, k: int, sliced: bool) -> list[tuple[int, int]]:
    """Chunk bounds over `length` frames or latents: [0, 1+k), then k at a time; one chunk unless `sliced`.

    The first chunk carries the lone leading frame (latent) of the causal `4n+1` layout plus k more, so
    encode (k = encode_slice_frames) and decode (k = decode_slice_latents) cut their inputs the same way.
    """
    if not sliced or length <= 1 + k:
        return [(0, length)]
    return [(0, 1 + k)] + [(a, min(a + k, length)) for a in range(1 + k, length, k)]
