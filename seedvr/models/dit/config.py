"""Typed NaDiT hyper-parameters: one frozen dataclass covers both code generations.

`version=2` is the 3B family (SwiGLU, shared `.all` blocks after `mm_layers`, MM-RoPE on video and text,
final RMSNorm + ada); `version=1` is the 7B family (GELU-tanh MLP with bias, all blocks separate,
pixel RoPE on video only, no final norm).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class DiTConfig:
    version: Literal[1, 2]
    vid_dim: int
    heads: int
    head_dim: int
    num_layers: int
    txt_in_dim: int = 5120
    vid_in_channels: int = 33
    vid_out_channels: int = 16
    expand_ratio: int = 4
    norm_eps: float = 1e-5
    patch_size: tuple[int, int, int] = (1, 2, 2)
    # Blocks [0, mm_layers) keep separate video/text weights; later blocks share one `.all` set (v2 only).
    mm_layers: int | None = None
    # Number of windows (t, h, w) at the 720p-normalised token grid; same for every layer.
    num_windows: tuple[int, int, int] = (4, 3, 3)
    # The reference's RoPE module `dim` (v2 `rope_dim`): each of the 3 axes rotates 2 * ((rope_dim // 3) // 2)
    # channels. Version 1 ignores it: the 7B code always builds its RoPE with head_dim // 2.
    rope_dim: int = 128
    # Cap on latent frames used to size temporal windows.
    window_time_cap: int = 30
    attention_backend: Literal["auto", "flash", "sdpa"] = "auto"
    # Version 2 only. The reference 3B code mixes up text q/k across samples of a packed batch (sample i > 0
    # gets rows of a per-window repeated copy of the text at the un-repeated offsets; see
    # seedvr/models/packing.py). True reproduces the reference bit for bit, batched; with False every sample
    # of a batch gives exactly what it gives alone. Single-sample calls are identical either way.
    batch_text_quirk: bool = True
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.version not in (1, 2):
            raise ValueError(f"DiTConfig.version must be 1 (7B family) or 2 (3B family), got {self.version!r}")
        if self.heads * self.head_dim != self.vid_dim:
            raise ValueError(
                f"heads*head_dim must equal vid_dim: {self.heads}*{self.head_dim} != {self.vid_dim}"
            )
        if self.mm_layers is not None and not 0 <= self.mm_layers <= self.num_layers:
            raise ValueError(f"mm_layers={self.mm_layers} must lie in [0, num_layers={self.num_layers}]")
        if self.attention_backend not in ("auto", "flash", "sdpa"):
            raise ValueError(
                f"attention_backend must be 'auto', 'flash' or 'sdpa', got {self.attention_backend!r}"
            )
        if 6 * (self.rope_axis_dim // 2) > self.head_dim:
            raise ValueError(f"RoPE covers {6 * (self.rope_axis_dim // 2)} channels > head_dim={self.head_dim}")
        if len(self.patch_size) != 3 or self.patch_size[0] != 1:
            raise ValueError(f"patch_size must be (1, ph, pw) (no temporal patching), got {self.patch_size}")

    @property
    def txt_dim(self) -> int:
        return self.vid_dim

    @property
    def emb_dim(self) -> int:
        return 6 * self.vid_dim

    @property
    def separate_layers(self) -> int:
        """Blocks with separate `.vid` / `.txt` weights (all of them for version 1)."""
        if self.version == 1 or self.mm_layers is None:
            return self.num_layers
        return self.mm_layers

    @property
    def rope_kind(self) -> str:
        """'lang' (v2 MM-RoPE, integer positions, text rotated) or 'pixel' (v1, linspace(-1, 1) per window)."""
        return "lang" if self.version == 2 else "pixel"

    @property
    def rope_axis_dim(self) -> int:
        """Per-axis rotary dim (rotary-embedding-torch `dim`); the freqs buffer has rope_axis_dim // 2 entries."""
        return (self.rope_dim if self.version == 2 else self.head_dim // 2) // 3

    @property
    def mlp_hidden(self) -> int:
        """v2 SwiGLU: int(2*D*4/3) rounded up to 256; v1: D*expand_ratio."""
        if self.version == 2:
            hidden = int(2 * self.vid_dim * self.expand_ratio / 3)
            return (hidden + 255) // 256 * 256
        return self.vid_dim * self.expand_ratio


DIT_3B = DiTConfig(version=2, vid_dim=2560, heads=20, head_dim=128, num_layers=32, mm_layers=10, rope_dim=128)
DIT_7B = DiTConfig(version=1, vid_dim=3072, heads=24, head_dim=128, num_layers=36, rope_dim=128)
# Tiny configs of the golden fixtures (random weights, CPU tests).
DIT_TINY_V2 = DiTConfig(version=2, vid_dim=128, heads=2, head_dim=64, num_layers=4, mm_layers=2, txt_in_dim=96, rope_dim=64)
DIT_TINY_V1 = DiTConfig(version=1, vid_dim=192, heads=3, head_dim=64, num_layers=4, txt_in_dim=96, rope_dim=64)
