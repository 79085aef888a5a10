"""GPU memory of restoring one segment, and the segment length and VAE tiling that fit a budget.

Peak = resident + the largest phase of `ClipRestorer._restore` (seedvr/restorer/clip.py), which runs
them one after another and frees each phase's working set before the next:

- resident: DiT and VAE weights (compute dtype; norms, modulation and RoPE float32), the text
  embeddings, and the segment's uint8 frames the LQ is resized from;
- encode: the model input (3 x frames x H x W, padded to 16 px and 4n+1 frames) and the VAE encode peak;
- sample: the DiT forward peak plus the latent-sized sampler state (float32 latents, noises, condition);
- decode: the latent and the VAE decode peak, whose all-frames output buffer is then colour-fixed eight
  frames at a time (float32 copies of a chunk, the LQ chunk, the wavelet's blurs).

The figures are tensor bytes as `torch.cuda.max_memory_allocated` counts them (validated on CPU against
live tensor bytes, `seedvr.memory.tracker`). A plan keeps `RESERVE_FRACTION` of the budget free for what
that leaves out: the caching allocator's rounding and fragmentation, cuDNN/cuBLAS workspaces.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field

from seedvr.memory.dit import dit_forward_peak
from seedvr.memory.vae import tile_count, vae_peak
from seedvr.models.dit.config import DiTConfig
from seedvr.models.vae.config import VAEConfig
from seedvr.models.vae.tiling import MIN_TILE_PX, VAETiling

# Kept free of a budget: allocator rounding/fragmentation and kernel workspaces, which live-tensor
# bytes do not include.
RESERVE_FRACTION = 0.08
# Released text embeddings: 58 positive and 64 negative tokens of txt_in_dim.
TEXT_TOKENS = (58, 64)
# Colour fix, per 8-frame chunk (seedvr.restorer.lq.CHUNK_FRAMES): the wavelet fix holds 7 float32 copies
# of a chunk at its peak (measured with LiveBytes), plus the output chunk in float32 and the LQ chunk.
FINISH_CHUNK_FRAMES, FINISH_CHUNK_COPIES = 8, 10
# Sampler state per latent pixel, float32: latent, noise, augmentation noise, x_t, velocity (16 ch each),
# the 17-channel condition, and CFG's positive prediction.
SAMPLER_CHANNELS = 5 * 16 + 17 + 16

DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float8_e4m3fn": 1, "float8_e5m2": 1}


def dtype_bytes(dtype: object) -> int:
    """Bytes per element of a torch dtype or its name ('bfloat16', 'torch.float16', ...)."""
    name = str(dtype).removeprefix("torch.")
    if name not in DTYPE_BYTES:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {', '.join(DTYPE_BYTES)}")
    return DTYPE_BYTES[name]


_MEMORY = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(gib|gb|mib|mb|g|m)?\s*$", re.IGNORECASE)
_UNITS = {"gib": 2**30, "g": 2**30, None: 2**30, "gb": 10**9, "mib": 2**20, "m": 2**20, "mb": 10**6}


def parse_memory(text: str) -> int:
    """'24GiB', '24 GB' (10^9), '900MiB', a bare number (GiB) -> bytes; ValueError otherwise."""
    m = _MEMORY.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"GPU memory {text!r} must be a positive size such as 24GiB, 80GB or 900MiB")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower() if m.group(2) else None])


@functools.cache
def weight_bytes(dit: DiTConfig, vae: VAEConfig, e: int) -> int:
    """Bytes of DiT + VAE weights in compute dtype bytes `e`: the models are built on the meta device (no
    memory) and every parameter and buffer counted, float32 where the model keeps it float32."""
    import torch

    from seedvr.models.dit.nadit import NaDiT
    from seedvr.models.precision import float32_keys
    from seedvr.models.vae.model import VideoVAE

    total = 0
    with torch.device("meta"):
        models = (NaDiT(dit), VideoVAE(vae))
    for model in models:
        keep = float32_keys(model)
        total += sum(p.numel() * (4 if k in keep else e) for k, p in model.named_parameters())
        total += sum(b.numel() * 4 for b in model.buffers())  # RoPE frequencies stay float32
    return total


@dataclass(frozen=True)
class SegmentMemory:
    """Predicted peak bytes of restoring one segment, by phase."""

    frames: int
    height: int
    width: int
    tiling: VAETiling | None
    resident: int
    phases: dict[str, int] = field(compare=False)

    @property
    def peak(self) -> int:
        return self.resident + max(self.phases.values())

    @property
    def peak_phase(self) -> str:
        return max(self.phases, key=self.phases.__getitem__)


def _ceil(n: int, k: int) -> int:
    return -(-n // k) * k


def segment_memory(dit: DiTConfig, vae: VAEConfig, frames: int, height: int, width: int, *, e: int = 2,
                   tiling: VAETiling | None = None, backend: str = "flash", cfg_guidance: bool = False,
                   input_hw: tuple[int, int] | None = None) -> SegmentMemory:
    """Peak of one `restore` of `frames` frames at output height x width (the model pads to 16 px and
    4n+1 frames); `input_hw` is the decoded frames' size (default: the output size)."""
    t = _ceil(max(frames, 1) - 1, 4) + 1
    h, w = _ceil(height, 16), _ceil(width, 16)
    s, tf = vae.spatial_downsample_factor, vae.temporal_downsample_factor
    latent = ((t - 1) // tf + 1, h // s, w // s)
    lat_px = latent[0] * latent[1] * latent[2]
    in_h, in_w = input_hw or (height, width)
    txt = sum(TEXT_TOKENS) * dit.txt_in_dim * e
    resident = weight_bytes(dit, vae, e) + txt + frames * in_h * in_w * 3
    video = 3 * t * h * w * e
    z_bytes = vae.latent_channels * lat_px * (4 + e)  # float32 latent and its cast for the VAE
    dit_peak = max(dit_forward_peak(dit, latent, n, e, backend).bytes for n in TEXT_TOKENS[: 1 + cfg_guidance])
    sampler = lat_px * (SAMPLER_CHANNELS * 4 + dit.vid_in_channels * e)
    finish = FINISH_CHUNK_COPIES * min(FINISH_CHUNK_FRAMES, frames) * 3 * h * w * 4
    phases = {
        "encode": video + vae_peak(vae, "encode", t, h, w, e, tiling).bytes,
        "dit": sampler + dit_peak,
        "decode": z_bytes + max(vae_peak(vae, "decode", t, h, w, e, tiling).bytes, video + finish),
    }
    return SegmentMemory(frames, height, width, tiling, resident, phases)


def tilings_to_try(height: int, width: int) -> list[VAETiling | None]:
    """Untiled, then the tilings `seedvr.restorer.oom.next_tiling` would fall back to (largest first)."""
    out: list[VAETiling | None] = [None]
    tiling: VAETiling | None = VAETiling(1024, 128)
    while tiling is not None:
        if tiling.tile_px < max(height, width) and tile_count(_ceil(height, 16), _ceil(width, 16), tiling) > 1:
            out.append(tiling)
        tiling = tiling.smaller()
    return out


@dataclass(frozen=True)
class MemoryPlan:
    """The chosen segment length and tiling for a budget, with the prediction that chose them."""

    budget: int
    memory: SegmentMemory
    fits: bool
    requested_frames: int

    @property
    def segment_frames(self) -> int:
        return self.memory.frames

    @property
    def tiling(self) -> VAETiling | None:
        return self.memory.tiling

    def describe(self) -> str:
        m = self.memory
        tiles = f"VAE tiles {m.tiling.tile_px}/{m.tiling.overlap_px} px" if m.tiling else "VAE untiled"
        verdict = "fits" if self.fits else "does NOT fit"
        return (f"predicted peak {gib(m.peak)} ({m.peak_phase}; weights and inputs {gib(m.resident)}) for "
                f"{m.frames}-frame segments at {m.width}x{m.height}, {tiles}; {verdict} "
                f"{gib(self.budget)} (keeping {RESERVE_FRACTION:.0%} in reserve)")


def gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def plan_segment(dit: DiTConfig, vae: VAEConfig, height: int, width: int, budget: int, *,
                 max_frames: int, min_frames: int = 5, e: int = 2, backend: str = "flash",
                 cfg_guidance: bool = False, input_hw: tuple[int, int] | None = None,
                 tiling: VAETiling | None | str = "auto") -> MemoryPlan:
    """The longest segment (4n+1, at most `max_frames`, at least `min_frames`) that fits `budget` bytes,
    with the largest VAE tile that fits at that length (a fixed `tiling` when one is given).

    Longer segments mean fewer seams and less context overlap to recompute; the DiT's share grows with
    the length and the VAE's with tile size, so the length is chosen first. When nothing fits, the
    smallest plan is returned with `fits=False`.
    """
    usable = budget * (1 - RESERVE_FRACTION)
    lengths = list(range(max_frames - (max_frames - 1) % 4, 0, -4))
    lengths = [n for n in lengths if n >= min(min_frames, max_frames)] or [max_frames]
    choices = tilings_to_try(height, width) if tiling == "auto" else [tiling]
    kw = {"e": e, "backend": backend, "cfg_guidance": cfg_guidance, "input_hw": input_hw}
    for frames in lengths:
        for t in choices:
            m = segment_memory(dit, vae, frames, height, width, tiling=t, **kw)
            if m.peak <= usable:
                return MemoryPlan(budget, m, True, max_frames)
            if m.resident + m.phases["dit"] > usable:
                break  # smaller tiles cannot help: the DiT phase alone is over
    smallest = segment_memory(dit, vae, lengths[-1], height, width, tiling=choices[-1], **kw)
    return MemoryPlan(budget, smallest, False, max_frames)


def min_budget(dit: DiTConfig, vae: VAEConfig, frames: int, height: int, width: int, *, e: int = 2,
               backend: str = "flash", cfg_guidance: bool = False) -> int:
    """The smallest budget (bytes, reserve included) that runs `frames`-frame segments at the size,
    with the smallest tiles: what a node must offer."""
    smallest = VAETiling(MIN_TILE_PX * 2, MIN_TILE_PX // 2)
    m = segment_memory(dit, vae, frames, height, width, e=e, tiling=smallest, backend=backend,
                       cfg_guidance=cfg_guidance)
    return math.ceil(m.peak / (1 - RESERVE_FRACTION))
