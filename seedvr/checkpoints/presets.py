"""Every supported model in one table: architecture, weight file names and sampling defaults.

A preset names *what* to run; `ClipRestorer.from_preset` decides *where* (device, dtype) and reads
the weights. Every sampling value can be overridden per run with `Preset.with_sampling(...)`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass
from typing import Literal

from seedvr.errors import ConfigError
from seedvr.models.dit.config import DIT_3B, DIT_7B, DIT_TINY_V1, DIT_TINY_V2, DiTConfig
from seedvr.models.vae.config import VAE_SEEDVR, VAE_TINY, VAEConfig

ColorFix = Literal["wavelet", "adain", "none"]
Posterior = Literal["sample", "mode"]
SpatialPad = Literal["replicate", "reflect"]


@dataclass(frozen=True)
class SamplingConfig:
    """How one clip is sampled and post-processed.

    `cond_noise_reference_quirk` keeps the reference's choice of latent shape for the condition-noise
    time shift (see `seedvr.diffusion.shift.condition_noise_grid`).
    """

    steps: int = 1
    cfg_scale: float = 1.0
    cond_noise_scale: float = 0.0
    cond_noise_reference_quirk: bool = True
    posterior: Posterior = "sample"
    color_fix: ColorFix = "wavelet"
    spatial_pad: SpatialPad = "replicate"

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ConfigError(f"sampling steps must be a positive int, got {self.steps!r}")
        if not math.isfinite(self.cfg_scale) or self.cfg_scale < 0:
            raise ConfigError(f"cfg_scale must be a finite number >= 0, got {self.cfg_scale!r}")
        if not 0.0 <= self.cond_noise_scale <= 1.0:
            raise ConfigError(f"cond_noise_scale must lie in [0, 1], got {self.cond_noise_scale!r}")
        _check_choice("posterior", self.posterior, ("sample", "mode"))
        _check_choice("color_fix", self.color_fix, ("wavelet", "adain", "none"))
        _check_choice("spatial_pad", self.spatial_pad, ("replicate", "reflect"))


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


# SeedVR2: one distilled step at t = T without guidance; SeedVR: 50 steps, CFG 6.5, LQ noise 0.1.
SAMPLING_SEEDVR2 = SamplingConfig(steps=1, cfg_scale=1.0, cond_noise_scale=0.0)
SAMPLING_SEEDVR = SamplingConfig(steps=50, cfg_scale=6.5, cond_noise_scale=0.1)


@dataclass(frozen=True)
class WeightFiles:
    """File names inside a weights folder; the first name that exists wins.

    The official files are fp32 `.pth`; the fp16 and fp8 `.safetensors` and the `.gguf` names are the
    community conversions (same keys) published for SeedVR2, in order of decreasing precision.
    """

    dit: tuple[str, ...]
    vae: tuple[str, ...] = ("ema_vae.pth", "ema_vae_fp16.safetensors")
    pos_emb: str = "pos_emb.pt"
    neg_emb: str = "neg_emb.pt"


# Parameter counts of the released checkpoints (also checked against the built models in tests).
_PARAMS = {"dit_3b": 3_391_476_448, "dit_7b": 8_239_608_232, "vae": 250_648_227}
# What `min_gpu_memory_gb` is sized for: the default 45-frame segment at 720p (seedvr.defaults).
SIZING_FRAMES, SIZING_HW = 45, (720, 1280)
# What `restore_s_per_mpix_frame` assumes until a restore of the config has been measured: a sustained
# bf16 throughput for a data-centre GPU (an H100's dense peak is ~990 TFLOP/s; convolutions and windowed
# attention reach a fraction of it), and the released VAE's encode + decode FLOPs per output megapixel-frame
# (convolutions and frame attention, counted as bench/bench_vae.py does: 9.3 encode + 24.1 decode).
ASSUMED_GPU_FLOPS = 150e12
VAE_FLOPS_PER_MPIX_FRAME = 33.4e12


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    dit: DiTConfig | None = None
    vae: VAEConfig | None = None
    sampling: SamplingConfig = SAMPLING_SEEDVR2
    files: WeightFiles | None = None
    # Tiny presets build seeded random weights and text embeddings when no weights are given.
    random_init_seed: int | None = None
    # Key in checkpoint_keys.json / _PARAMS of the released architecture this preset loads.
    architecture: str | None = None

    @property
    def is_identity(self) -> bool:
        return self.dit is None

    @property
    def needs_weights(self) -> bool:
        """Released models cannot run without their checkpoint; tiny ones fall back to seeded weights."""
        return self.files is not None and self.random_init_seed is None

    @property
    def min_gpu_memory_gb(self) -> float:
        """GPU memory (GB, rounded up) to run 45-frame segments at 720p in bf16 with the smallest VAE
        tiles: weights plus the largest phase, from the memory model (`seedvr.memory.plan.min_budget`)."""
        if self.dit is None:
            return 0.0
        if self.architecture is None:
            return 1.0
        from seedvr.memory.plan import min_budget

        h, w = SIZING_HW
        need = min_budget(self.dit, self.vae, SIZING_FRAMES, h, w, cfg_guidance=self.sampling.cfg_scale != 1.0)
        return float(math.ceil(need / 1e9))

    def restore_s_per_mpix_frame(self) -> float:
        """Estimated accelerator seconds to restore one output megapixel-frame (an estimate, not a
        measurement: it sizes the job's waves until earlier results of the same config give a measured
        rate). FLOPs of the DiT passes (steps, doubled by guidance) at the sizing geometry, plus the VAE's,
        over `ASSUMED_GPU_FLOPS`: about 0.26 s for seedvr2-3b, 4 s for seedvr-3b; 0 for identity."""
        if self.dit is None or self.vae is None:
            return 0.0
        from seedvr.models.dit.flops import dit_flops

        (h, w), vae = SIZING_HW, self.vae
        latent = ((SIZING_FRAMES - 1) // vae.temporal_downsample_factor + 1,
                  h // vae.spatial_downsample_factor, w // vae.spatial_downsample_factor)
        mpix_frames = SIZING_FRAMES * h * w / 1e6
        passes = self.sampling.steps * (2 if self.sampling.cfg_scale != 1.0 else 1)
        dit = dit_flops(self.dit, [latent], [TINY_TEXT_TOKENS[0]])["total"] / mpix_frames
        vae_flops = VAE_FLOPS_PER_MPIX_FRAME if self.vae == VAE_SEEDVR else 0.0
        return (passes * dit + vae_flops) / ASSUMED_GPU_FLOPS

    def with_sampling(self, **overrides: object) -> Preset:
        """A copy with some sampling values replaced, e.g. `with_sampling(steps=25, color_fix="adain")`."""
        fields = {f.name for f in dataclasses.fields(SamplingConfig)}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise ConfigError(f"unknown sampling option(s) {unknown}; valid options are {sorted(fields)}")
        return dataclasses.replace(self, sampling=dataclasses.replace(self.sampling, **overrides))


def _released(name: str, description: str, dit: DiTConfig, arch: str, sampling: SamplingConfig,
              files: tuple[str, ...]) -> Preset:
    return Preset(name, description, dit, VAE_SEEDVR, sampling, WeightFiles(dit=files), None, arch)


# Tiny text embeddings use the released token counts (58 positive, 64 negative).
TINY_TEXT_TOKENS = (58, 64)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        _released("seedvr2-3b", "SeedVR2 3B, one step", DIT_3B, "dit_3b", SAMPLING_SEEDVR2,
                  ("seedvr2_ema_3b.pth", "seedvr2_ema_3b_fp16.safetensors", "seedvr2_ema_3b_fp8_e4m3fn.safetensors",
                   "seedvr2_ema_3b-Q8_0.gguf", "seedvr2_ema_3b-Q4_K_M.gguf")),
        _released("seedvr2-7b", "SeedVR2 7B, one step", DIT_7B, "dit_7b", SAMPLING_SEEDVR2,
                  ("seedvr2_ema_7b.pth", "seedvr2_ema_7b_fp16.safetensors",
                   "seedvr2_ema_7b_fp8_e4m3fn_mixed_block35_fp16.safetensors", "seedvr2_ema_7b-Q4_K_M.gguf")),
        _released("seedvr2-7b-sharp", "SeedVR2 7B sharper variant, one step", DIT_7B, "dit_7b",
                  SAMPLING_SEEDVR2, ("seedvr2_ema_7b_sharp.pth", "seedvr2_ema_7b_sharp_fp16.safetensors",
                   "seedvr2_ema_7b_sharp_fp8_e4m3fn_mixed_block35_fp16.safetensors",
                   "seedvr2_ema_7b_sharp-Q4_K_M.gguf")),
        _released("seedvr-3b", "SeedVR 3B, 50 steps with CFG", DIT_3B, "dit_3b", SAMPLING_SEEDVR,
                  ("seedvr_ema_3b.pth",)),
        _released("seedvr-7b", "SeedVR 7B, 50 steps with CFG", DIT_7B, "dit_7b", SAMPLING_SEEDVR,
                  ("seedvr_ema_7b.pth",)),
        Preset("tiny-v2", "tiny 3B-style model with seeded random weights, one step (tests, demos)",
               DIT_TINY_V2, VAE_TINY, SAMPLING_SEEDVR2,
               WeightFiles(dit=("dit.safetensors", "dit.pth"), vae=("vae.safetensors", "vae.pth")), 2),
        Preset("tiny-v1", "tiny 7B-style model with seeded random weights, 4 steps with CFG (tests, demos)",
               DIT_TINY_V1, VAE_TINY, dataclasses.replace(SAMPLING_SEEDVR, steps=4),
               WeightFiles(dit=("dit.safetensors", "dit.pth"), vae=("vae.safetensors", "vae.pth")), 1),
        Preset("identity", "no model: frames pass through (dry runs, pipeline benchmarks)"),
    )
}


def get_preset(name: str | Preset) -> Preset:
    """Look a preset up by name (a Preset passes through)."""
    if isinstance(name, Preset):
        return name
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(str(name).lower(), PRESETS, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"unknown preset {name!r}; {hint}valid presets are: {', '.join(PRESETS)}") from None
