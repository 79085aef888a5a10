"""Causal video VAE of SeedVR / SeedVR2."""

from seedvr.models.vae.config import VAE_SEEDVR, VAE_TINY, VAEConfig
from seedvr.models.vae.keys import remap_legacy_vae_keys
from seedvr.models.vae.model import VideoVAE
from seedvr.models.vae.tiling import VAETiling

__all__ = ["VAE_SEEDVR", "VAE_TINY", "VAEConfig", "VAETiling", "VideoVAE", "remap_legacy_vae_keys"]
