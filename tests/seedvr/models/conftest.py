"""The small VAE the model tests share."""

from __future__ import annotations

import pytest
import torch

from seedvr.models.vae import VAEConfig, VideoVAE

# A narrower tiny model keeps these tests fast; the golden test covers VAE_TINY itself.
MINI = VAEConfig(block_out_channels=(8, 16, 16, 16), norm_num_groups=4)


@pytest.fixture(scope="module")
def vae() -> VideoVAE:
    """MINI with seed-0 weights, built once per test module."""
    torch.manual_seed(0)
    return VideoVAE(MINI).eval()
