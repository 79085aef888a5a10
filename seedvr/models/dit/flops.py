"""Analytic FLOP count of one NaDiT forward (multiply-add = 2 FLOPs), for MFU figures and capacity planning.

Counts the matmuls the implementation runs: patch in/out, text in, per block q/k/v/out projections and the MLP
for video and text tokens (the last block skips its unused text output projection and text MLP), and window
attention (QK^T and PV: 4 * S^2 * heads * head_dim per sequence of S = window + text tokens). Norms, RoPE,
modulation and the timestep MLP are negligible and left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..window import window_segments
from .config import DiTConfig


def dit_flops(cfg: DiTConfig, vid_shapes: Sequence[tuple[int, int, int]], txt_lens: Sequence[int]
              ) -> dict[str, float]:
    """FLOPs for latent shapes [(T, H, W)] and text lengths; keys 'linear', 'attention', 'total'."""
    _, ph, pw = cfg.patch_size
    grids = [(t, h // ph, w // pw) for t, h, w in vid_shapes]
    n_vid, n_txt = sum(t * h * w for t, h, w in grids), sum(txt_lens)
    d, inner = cfg.vid_dim, cfg.heads * cfg.head_dim
    mlp = (3 if cfg.version == 2 else 2) * d * cfg.mlp_hidden
    qkv, out = 3 * d * inner, inner * d
    layers = cfg.num_layers
    macs = (n_vid + n_txt) * qkv * layers + n_vid * (out + mlp) * layers + n_txt * (out + mlp) * (layers - 1)
    macs += n_vid * (cfg.vid_in_channels * ph * pw * d + d * cfg.vid_out_channels * ph * pw)
    macs += n_txt * cfg.txt_in_dim * d if cfg.txt_in_dim != d else 0
    attn = 0.0
    for i in range(layers):
        for (t, h, w), n in zip(grids, txt_lens, strict=True):
            st, sh, sw = window_segments((t, h, w), cfg.num_windows, shifted=i % 2 == 1,
                                         time_cap=cfg.window_time_cap)
            attn += sum(4.0 * ((b - a) * (d_ - c) * (f - e) + n) ** 2 * inner
                        for a, b in st for c, d_ in sh for e, f in sw)
    return {"linear": 2.0 * macs, "attention": attn, "total": 2.0 * macs + attn}
