"""Typed hyper-parameters of the causal video VAE ("s8_c16_t4": 8x space, 4x time, 16 latent channels)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VAEConfig:
    block_out_channels: tuple[int, ...] = (128, 256, 512, 512)
    in_channels: int = 3
    out_channels: int = 3
    latent_channels: int = 16
    layers_per_block: int = 2
    norm_num_groups: int = 32
    # How many of the down/up blocks also scale time (the last ones with a downsampler).
    temporal_scale_num: int = 2
    spatial_downsample_factor: int = 8
    temporal_downsample_factor: int = 4
    scaling_factor: float = 0.9152
    # Causal slicing: encode chunks of this many frames, decode chunks of this many latents.
    encode_slice_frames: int = 4
    decode_slice_latents: int = 1

    def __post_init__(self) -> None:
        if len(self.block_out_channels) < 2:
            raise ValueError(f"block_out_channels needs at least 2 entries, got {self.block_out_channels}")
        if any(c % self.norm_num_groups for c in self.block_out_channels):
            raise ValueError(
                f"every entry of block_out_channels {self.block_out_channels} must be divisible by "
                f"norm_num_groups={self.norm_num_groups}"
            )


VAE_SEEDVR = VAEConfig()
VAE_TINY = VAEConfig(block_out_channels=(32, 64, 64, 64))
