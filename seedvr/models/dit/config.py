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
    # Channels of each head that RoPE covers, in the reference's vocabulary (v2 `rope_dim`).
    rope_dim: int = 128
    # Cap on latent frames used to size temporal windows.
    window_time_cap: int = 30
    attention_backend: Literal["auto", "flash", "sdpa"] = "auto"
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
