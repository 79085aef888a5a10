"""`ClipRestorer`: one SeedVR / SeedVR2 model behind `restore(frames, seed=..., target=...)`.

The flow per clip: resize to the target, pad to the model's grid, VAE-encode the LQ as the condition,
sample from seeded noise, decode, crop back, colour-fix against the resized input, quantise.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from einops import rearrange
from torch import Tensor

import seedvr
from seedvr.checkpoints.loading import LoadedModels, Weights, default_dtype, load_models
from seedvr.checkpoints.presets import Preset, get_preset
from seedvr.diffusion import VelocityFn, augment_condition, classifier_free_guidance, sample, sr_condition
from seedvr.diffusion.noise import gaussian_noise
from seedvr.errors import ConfigError, InputError, OutOfMemoryError
from seedvr.models.attention import flash_available
from seedvr.models.compile import compile_dit, compile_vae, resolve_compile
from seedvr.models.vae.tiling import VAETiling
from seedvr.restorer.colorfix import adain_apply, channel_stats, wavelet_color_fix
from seedvr.restorer.frames import validate_frames
from seedvr.restorer.lq import LQFrames
from seedvr.restorer.oom import free_accelerator_memory, is_oom, with_tiling_retry
from seedvr.restorer.padding import SpatialPad, padded_frame_count
from seedvr.restorer.target import TargetSize


def _default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_attention(attention: str, device: torch.device, dtype: torch.dtype) -> str:
    """The backend the DiT will use (same rule as the model's "auto"); a flash request that cannot
    run fails here, at load time, instead of on the first clip."""
    usable = device.type == "cuda" and flash_available()
    if attention == "flash" and not usable:
        raise ConfigError(
            f"attention='flash' needs flash-attn installed and a CUDA device (device: {device}); use 'auto' or 'sdpa'"
        )
    if attention == "auto":
        return "flash" if usable and dtype in (torch.float16, torch.bfloat16) else "sdpa"
    return attention


def coerce_tiling(value: object) -> VAETiling | None:
    """VAETiling from config-friendly forms: None, a tile size, (tile, overlap) or {tile_px, overlap_px}."""
    if value is None or isinstance(value, VAETiling):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return VAETiling(value, min(VAETiling.overlap_px, value // 4 // 8 * 8))
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return VAETiling(int(value[0]), int(value[1]))
    if isinstance(value, Mapping):
        return VAETiling(**{k: int(v) for k, v in value.items()})
    raise ConfigError(f"vae_tiling must be None, a tile size in px, (tile_px, overlap_px) or a mapping; got {value!r}")


class ClipRestorer:
    """Restores clips with one loaded model; thread-safe (one clip at a time per instance)."""

    def __init__(self, preset: Preset, models: LoadedModels, *, device: torch.device, dtype: torch.dtype,
                 attention: str = "auto", vae_tiling: VAETiling | None = None, compile: bool = False) -> None:
        self.preset = preset
        self.models = models
        self.device = device
        self.dtype = dtype
        self.attention = resolve_attention(attention, device, dtype)
        self.vae_tiling = vae_tiling
        # Regional torch.compile of the DiT and VAE blocks; graphs are built on the first clip.
        self.compiled = bool(compile)
        if self.compiled:
            compile_dit(models.dit)
            compile_vae(models.vae)
        self._lock = threading.Lock()

    @classmethod
    def from_preset(
        cls,
        preset: str | Preset,
        weights: Weights | None = None,
        *,
        device: str | torch.device | None = None,
        dtype: torch.dtype | None = None,
        attention: str = "auto",
        vae_tiling: VAETiling | int | tuple[int, int] | Mapping[str, int] | None = None,
        cache_dir: str | os.PathLike | None = None,
        compile: str | bool = "auto",
        fp8: str = "dequantize",
        **overrides: Any,
    ) -> ClipRestorer:
        """Load a preset; `weights` is a folder (local or URL), a DiT file, or a {component: file} map.

        `compile`: "auto" (torch.compile on CUDA, eager on CPU), "on" or "off" (seedvr.models.compile).
        Keyword `overrides` replace sampling values (steps, cfg_scale, cond_noise_scale, color_fix, ...).
        `fp8="on_the_fly"` keeps the Linear weights of a float8 DiT file in fp8 (half the memory of bf16).
        """
        preset = get_preset(preset)
        tiling = coerce_tiling(vae_tiling)  # validate before the (slow) load
        if preset.is_identity:
            raise ConfigError("preset 'identity' has no model; use seedvr.restorer.load_restorer or IdentityRestorer")
        if attention not in ("auto", "flash", "sdpa"):
            raise ConfigError(f"attention must be 'auto', 'flash' or 'sdpa', got {attention!r}")
        if overrides:
            preset = preset.with_sampling(**overrides)
        dev = torch.device(device) if device is not None else _default_device()
        dtype = dtype or default_dtype(dev)
        resolve_attention(attention, dev, dtype)
        compiled = resolve_compile(compile, dev).enabled  # an impossible "on" fails before the load
        models = load_models(preset, weights, device=dev, dtype=dtype, attention=attention, cache_dir=cache_dir,
                             fp8=fp8)
        return cls(preset, models, device=dev, dtype=dtype, attention=attention,
                   vae_tiling=tiling, compile=compiled)

    @property
    def info(self) -> Mapping[str, Any]:
        """Provenance of every output: what model, which files, how it was sampled."""
        return {
            "preset": self.preset.name,
            "weights": dict(self.models.sources),
            "weights_sha256": dict(self.models.sha256),
            "dtype": str(self.dtype).removeprefix("torch."),
            "device": str(self.device),
            "attention": self.attention,
            "compile": self.compiled,
            "sampling": dataclasses.asdict(self.preset.sampling),
            "vae_tiling": dataclasses.asdict(self.vae_tiling) if self.vae_tiling else None,
            "seedvr_version": seedvr.__version__,
        }

    # -- restore ----------------------------------------------------------------------------------

    def restore(self, frames: np.ndarray, *, seed: int, target: TargetSize | None = None) -> np.ndarray:
        """(T, H, W, 3) uint8/uint16 -> the same dtype, T frames, at `target` size (default: input size)."""
        frames = validate_frames(frames)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**63:
            raise InputError(f"seed must be an int in [0, 2**63), got {seed!r}; use seedvr.restorer.derive_seed")
        t, h, w, _ = frames.shape
        out_h, out_w = target.output_size(h, w) if target is not None else (h, w)
        with self._lock, torch.inference_mode():
            try:
                return self._restore(frames, int(seed), out_h, out_w)
            except OutOfMemoryError:
                raise
            except Exception as exc:
                if not is_oom(exc):
                    raise
                free_accelerator_memory()
                raise OutOfMemoryError(
                    f"out of memory restoring {t} frames at {out_h}x{out_w} with {self.preset.name}; "
                    "use shorter segments or a smaller target size"
                ) from exc

    def _restore(self, frames: np.ndarray, seed: int, out_h: int, out_w: int) -> np.ndarray:
        cfg = self.preset.sampling
        num_frames = frames.shape[0]
        gen = torch.Generator("cpu").manual_seed(seed)  # CPU noise: same values on every device

        # 1. the LQ at output size in [-1, 1], padded to the model's grid (16 px, 4n+1 frames)
        lq = LQFrames(frames, self.device, out_h, out_w)
        pad = SpatialPad.for_size(out_h, out_w)
        x = self._model_input(lq, pad)  # [1, 3, T', H', W'] in the model dtype
        # 2. condition: scaled VAE latent of the LQ (+ optional noise augmentation) and the sr mask
        vae = self.models.vae
        scale = vae.cfg.scaling_factor
        latent = rearrange(self._encode(x, gen).float() * scale, "1 c t h w -> t h w c")
        del x
        # Noise in the compute dtype, as the reference draws it (randn_like of its bf16 latent).
        noise = gaussian_noise(latent.shape, gen, device=self.device, dtype=self.dtype)
        aug_noise = gaussian_noise(latent.shape, gen, device=self.device, dtype=self.dtype)
        latent = augment_condition(latent, aug_noise, cfg.cond_noise_scale,
                                   reference_quirk=cfg.cond_noise_reference_quirk)
        cond = sr_condition(latent)
        # 3. sample in latent space
        x0 = sample(self._velocity_fn(cond), noise, steps=cfg.steps)
        del noise, aug_noise, latent, cond
        # 4. decode; drop the padding, colour-fix and quantise chunk by chunk
        z = rearrange(x0 / scale, "t h w c -> 1 c t h w")
        out, self.vae_tiling = with_tiling_retry(
            lambda tiling: vae.decode(z, tiling=tiling), self.vae_tiling, (pad.height, pad.width), "decode"
        )
        out = pad.crop(rearrange(out, "1 c t h w -> t c h w")[:num_frames])
        return self._finish(out, lq, frames.dtype)

    def _model_input(self, lq: LQFrames, pad: SpatialPad) -> Tensor:
        frames = padded_frame_count(len(lq))
        x = torch.empty(1, 3, frames, pad.height + pad.pad_bottom, pad.width + pad.pad_right,
                        dtype=self.dtype, device=self.device)
        for i, j in lq.spans():
            x[0, :, i:j] = rearrange(pad.apply(lq.chunk(i, j), self.preset.sampling.spatial_pad), "t c h w -> c t h w")
        x[0, :, len(lq):] = x[0, :, len(lq) - 1 : len(lq)]  # repeat the last frame up to 4n+1
        return x

    def _finish(self, out: Tensor, lq: LQFrames, dtype: np.dtype) -> np.ndarray:
        """Colour fix against the LQ, clip, quantise; [T, 3, H, W] -> (T, H, W, 3) numpy."""
        method = self.preset.sampling.color_fix
        if method == "adain":
            spans = list(lq.spans())
            stats = (channel_stats(out[i:j] for i, j in spans), channel_stats(lq.chunk(i, j) for i, j in spans))
        result = np.empty((out.shape[0], out.shape[2], out.shape[3], 3), dtype=dtype)
        half = lq.max_value / 2
        for i, j in lq.spans():
            y = out[i:j].float()
            if method == "wavelet":
                y = wavelet_color_fix(y, lq.chunk(i, j))
            elif method == "adain":
                y = adain_apply(y, *stats)
            y = ((y.clamp(-1, 1) + 1) * half).round().to(torch.int32)
            result[i:j] = rearrange(y, "t c h w -> t h w c").cpu().numpy().astype(dtype)
        return result

    def _encode(self, x: Tensor, gen: torch.Generator) -> Tensor:
        vae, posterior = self.models.vae, self.preset.sampling.posterior
        z, self.vae_tiling = with_tiling_retry(
            lambda tiling: vae.encode(x, sample=posterior == "sample", generator=gen, tiling=tiling),
            self.vae_tiling, (x.shape[-2], x.shape[-1]), "encode",
        )
        return z

    def _velocity_fn(self, cond: Tensor) -> VelocityFn:
        """v(x_t, t) from the DiT (channels-last latents), with CFG when cfg_scale != 1.

        The shape tensors stay on the host, built once per clip: the DiT reads them with `.tolist()`, which
        on device tensors would wait for the device at every step. The timestep is filled on the device
        (no host-to-device copy), so a sampling step only queues work.
        """
        dit, dtype, device = self.models.dit, self.dtype, self.device
        t_, h, w, _ = cond.shape
        vid_shape = torch.tensor([[t_, h, w]])
        cond_flat = rearrange(cond, "t h w c -> (t h w) c")
        texts = {which: (emb, torch.tensor([[emb.shape[0]]]))
                 for which, emb in (("pos", self.models.pos_emb), ("neg", self.models.neg_emb))}
        scale = self.preset.sampling.cfg_scale

        def forward(x_flat: Tensor, t: float, which: str) -> Tensor:
            txt, txt_shape = texts[which]
            vid = torch.cat([x_flat, cond_flat], dim=-1).to(dtype)
            timestep = torch.full((1,), float(t), device=device, dtype=torch.float32)
            return dit(vid, txt, vid_shape, txt_shape, timestep).float()

        def velocity(x: Tensor, t: float) -> Tensor:
            x_flat = rearrange(x, "t h w c -> (t h w) c")
            pos = forward(x_flat, t, "pos")
            v = pos if scale == 1.0 else classifier_free_guidance(pos, forward(x_flat, t, "neg"), scale)
            return rearrange(v, "(t h w) c -> t h w c", t=t_, h=h, w=w)

        return velocity
