"""Peak activation memory of one NaDiT forward, from the shapes the code allocates (`seedvr/models/dit`).

Video tokens: N = T' * (h / 2) * (w / 2) for a latent of T' frames and h x w (1 x 2 x 2 patches), i.e.
(frames - 1) / 4 + 1 latent frames of (H / 16) * (W / 16) tokens. Every window sequence is [window video ;
the sample's L text tokens], so the packed attention tensors hold P = N + windows * L rows, where the
window count comes from the same 720p-normalised partition the model uses (`seedvr.models.window`).

The peak is the largest of a few moments inside a block, each a sum of the tensors alive there
(E = bytes per element of the model dtype; norms, RoPE and the attention statistics are float32):

- the block's input (kept by the caller), the modulated video, the text stream and its modulation;
- attention: the concatenated q/k/v of video and text (kept in a local), their packed copy (3 P D), the
  RoPE cos/sin (float32, one angle per rotated channel pair), the rotated q and k, the output buffer, and
  for SDPA the output of the largest run of equal-length windows; or, rotating k, RoPE's float32
  temporaries (two products, the rotated halves, their stack, and a float copy for half dtypes);
- MLP: the residual, the attention output and the modulated input beside three (SwiGLU: gate, up, their
  product) or two (GELU: proj_in, gelu) hidden-width tensors.

The two window plans (index maps and RoPE positions) are cached on the model and counted too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import product

from seedvr.models.dit.config import DiTConfig
from seedvr.models.window import window_segments

FLOAT32 = 4


@dataclass(frozen=True)
class DiTPeak:
    """Bytes of the largest moment of a forward, which moment it is, and the sizes that made it."""

    bytes: int
    moment: str
    tokens: int
    packed_rows: int


def token_grid(cfg: DiTConfig, latent: tuple[int, int, int]) -> tuple[int, int, int]:
    """Latent (T', h, w) -> patchified token grid (T', h / ph, w / pw)."""
    _, ph, pw = cfg.patch_size
    t, h, w = latent
    return t, h // ph, w // pw


def _windows(cfg: DiTConfig, grid: tuple[int, int, int], shifted: bool) -> list[int]:
    """Video tokens of every window of one partition (the same segments the model packs)."""
    segs = window_segments(grid, cfg.num_windows, shifted=shifted, time_cap=cfg.window_time_cap)
    return [(b - a) * (d - c) * (f - e) for (a, b), (c, d), (e, f) in product(*segs)]


def _plan_bytes(n_vid: int, windows: list[int], txt_len: int) -> int:
    """pack_index and vid_unpack (int64), txt_gather (int64), positions (float32 x 3), cu_seqlens (int32)."""
    rows = n_vid + len(windows) * txt_len
    return 8 * rows + 8 * n_vid + 8 * len(windows) * txt_len + 12 * rows + 4 * (len(windows) + 1)


def _largest_group(windows: list[int], txt_len: int) -> int:
    """Rows of the largest run of equal-length sequences: one SDPA call (and its output) covers them."""
    counts = Counter(n + txt_len for n in windows)
    return max(length * count for length, count in counts.items())


def dit_forward_peak(cfg: DiTConfig, latent: tuple[int, int, int], txt_len: int, dtype_bytes: int,
                     backend: str = "sdpa") -> DiTPeak:
    """Peak activation bytes of one forward on one sample (weights and the caller's inputs excluded).

    `latent` is the (T', h, w) latent shape before patchify, `backend` 'sdpa' or 'flash'.
    """
    grid = token_grid(cfg, latent)
    n = grid[0] * grid[1] * grid[2]
    d, e, f, length = cfg.vid_dim, dtype_bytes, FLOAT32, txt_len
    half = e != FLOAT32
    pairs = 3 * (cfg.rope_axis_dim // 2)  # rotated channel pairs per head
    plans = {s: _windows(cfg, grid, s) for s in (False, True)}
    persistent = sum(_plan_bytes(n, w, length) for w in plans.values())

    moments: dict[str, int] = {}
    for shifted, windows in plans.items():
        p = n + len(windows) * length
        base = (2 * n + 2 * length) * d * e  # block input, modulated video; text and modulated text
        qkv = 3 * (n + length) * d * e + 3 * p * d * e  # concatenated q/k/v, packed copy
        cos_sin = 2 * p * pairs * f
        r = p * cfg.heads * pairs  # elements of one rotated half (x0 or x1)
        xf = 2 * r * f if half else 0  # float copy of the rotated channels
        rot = 2 * r * (e if half else f)
        tail = p * d * e if 2 * pairs < cfg.head_dim else 0  # cat with the channels RoPE leaves alone
        rope = max(xf + 4 * r * f, xf + 2 * r * f + (2 * r * e if half else 0), xf + rot + tail)
        attn = base + qkv + cos_sin
        moments[f"rope{'-shifted' if shifted else ''}"] = attn + p * d * e + rope
        if backend == "flash":
            kernel = p * d * e + cfg.heads * p * f  # flash's own output and its log-sum-exp
        else:
            g = _largest_group(windows, length)
            kernel = p * d * e + g * d * e + g * cfg.heads * f  # output buffer, one group's output and lse
        moments[f"attention{'-shifted' if shifted else ''}"] = attn + 2 * p * d * e + kernel
    hidden = 3 if cfg.version == 2 else 2
    moments["mlp"] = 4 * n * d * e + hidden * n * cfg.mlp_hidden * e + 2 * length * d * e
    moment = max(moments, key=moments.__getitem__)
    p_max = n + max(len(w) for w in plans.values()) * length
    return DiTPeak(persistent + moments[moment], moment, n, p_max)
