"""The run settings every entry point shares, and the check of a model choice before any work starts.

`seedvr-clip`, the job's typed config (`jobs/config.py`) and the job's flags take their defaults and
their flag vocabulary from here, so a clip restored by hand and the same clip restored by the job come
out alike. The values follow the SeedVR2 reference inference settings:

- `PRESET` seedvr2-3b: the smaller released one-step model (about 20 GB of GPU memory at 720p).
- `RESOLUTION` 720p, an *area* target of 1280 x 720 = 921,600 pixels with the aspect ratio kept: the
  reference scripts' `--res_h 720 --res_w 1280` resize (up or down), the size the model was tuned at.
- `SEGMENT_FRAMES` 45 (4n+1 for the causal VAE: 12 latent frames): about 2 s at 24 fps, the window the
  presets' GPU memory figures are computed for. The reference runs a whole clip as one DiT call, which
  does not fit memory past a few seconds; 45 frames keep most of that temporal context.
- `CONTEXT_FRAMES` 8: two latent frames of causal overlap, cross-faded with a Hann ramp; 8/45 of the
  frames are restored twice.
- `SEED` 666: the reference scripts' seed (each segment derives its own from it).
- `COLOR_FIX` wavelet: the reference's (StableSR) wavelet colour reconstruction against the input.
- `DTYPE` None: bf16 on GPUs, as the reference computes; fp32 on CPU, where bf16 is slow and lossy.
- `ATTENTION` auto (flash-attn when it runs, else SDPA); `VAE_TILE` None: untiled, with smaller tiles
  tried automatically when the GPU runs out of memory.
- `COMPILE` auto: torch.compile of the DiT and VAE blocks on CUDA (faster from the second clip on, the
  first one pays the compilation), eager on CPU (seedvr.models.compile).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping

from seedvr.checkpoints.presets import PRESETS, Preset, get_preset
from seedvr.errors import ConfigError
from seedvr.restorer.target import TargetSize

PRESET = "seedvr2-3b"
SEGMENT_FRAMES = 45
CONTEXT_FRAMES = 8
SEED = 666
RESOLUTION = "720p"
DTYPE: str | None = None
ATTENTION = "auto"
VAE_TILE: int | None = None
COLOR_FIX = "wavelet"
COMPILE = "auto"
# float8 DiT files: dequantised to the compute dtype at load, or kept fp8 and dequantised per layer call.
FP8 = "dequantize"
DEVICE: str | None = None
BLEND = "hann"

DTYPES = ("bfloat16", "float16", "float32")
_DTYPE_ALIASES = {"bf16": "bfloat16", "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}
ATTENTIONS = ("auto", "flash", "sdpa")
COLOR_FIXES = ("wavelet", "adain", "none")
COMPILES = ("auto", "on", "off")
FP8_MODES = ("dequantize", "on_the_fly")

# Named resolutions are display heights (the shorter side): "1080p" is 1920x1080 for 16:9 material and
# 1440x1080 for 4:3, whatever the storage geometry; the sizes below are their 16:9 frames.
NAMED_RESOLUTIONS: dict[str, tuple[int, int]] = {
    "480p": (854, 480), "540p": (960, 540), "576p": (1024, 576), "720p": (1280, 720),
    "1080p": (1920, 1080), "1440p": (2560, 1440), "2160p": (3840, 2160), "4k": (3840, 2160),
}
RESOLUTION_HELP = ("output size, aspect ratio kept: 480p, 540p, 576p, 720p, 1080p, 1440p, 2160p/4k (the "
                   "display's shorter side: 1080p is 1920x1080 for 16:9, 1440x1080 for 4:3), WxH (the pixel "
                   "area of W*H, as the reference scripts) or a pixel count; up- or down-scales")
_WXH = re.compile(r"^(\d+)\s*[x*]\s*(\d+)$")


def parse_resolution(text: str | float) -> float:
    """Pixel area of a `--resolution` value: "720p" -> 921600, "1920x1080" -> 2073600, "500000" -> 500000."""
    raw = str(text).strip().lower()
    if raw in NAMED_RESOLUTIONS:
        w, h = NAMED_RESOLUTIONS[raw]
        return float(w * h)
    m = _WXH.match(raw)
    if m:
        area = float(int(m.group(1)) * int(m.group(2)))
    else:
        try:
            area = float(raw)
        except ValueError:
            area = math.nan
    if not math.isfinite(area) or area < 64:
        raise ConfigError(f"--resolution {text!r} is not a size; use one of {', '.join(NAMED_RESOLUTIONS)}, "
                          "WxH such as 1280x720, or a pixel count")
    return area


def default_multiple(mode: str) -> int:
    """Sides computed from an area or a short side are rounded to even (4:2:0, playable everywhere);
    an explicit scale factor keeps the exact size (scale 1 keeps odd sizes, encoded 4:4:4)."""
    return 1 if mode == "scale" else 2


def target_spec(resolution: str | float | None = None, short_side: int | None = None,
                scale: float | None = None) -> tuple[str, float, int]:
    """(mode, value, multiple) of the output-size flags; at most one may be given, none means the default
    resolution. The job's `model.target` and `TargetSize` take these three values."""
    given = [n for n, v in (("--resolution", resolution), ("--short-side", short_side), ("--scale", scale))
             if v is not None]
    if len(given) > 1:
        raise ConfigError(f"{' and '.join(given)} both set the output size; give only one")
    if short_side is not None:
        mode, value = "short_side", float(short_side)
        if not (math.isfinite(value) and value >= 16):
            raise ConfigError(f"--short-side {short_side!r} must be a size in pixels (16 or more), e.g. 1080")
    elif scale is not None:
        mode, value = "scale", float(scale)
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"--scale {scale!r} must be a positive factor, e.g. 2 (1: the input size)")
    else:
        text = RESOLUTION if resolution is None else resolution
        named = NAMED_RESOLUTIONS.get(str(text).strip().lower())
        if named is not None:
            mode, value = "short_side", float(min(named))
        else:
            mode, value = "area", parse_resolution(text)
    spec = (mode, value, default_multiple(mode))
    TargetSize(*spec)  # validates the value
    return spec


def default_target() -> TargetSize:
    return TargetSize(*target_spec())


def normalize_dtype(value: str | None) -> str | None:
    """Canonical dtype name, None for "auto" (the device's default)."""
    if value is None:
        return None
    key = str(value).strip().lower().removeprefix("torch.")
    if key in ("", "auto"):
        return None
    key = _DTYPE_ALIASES.get(key, key)
    if key not in DTYPES:
        raise ConfigError(f"dtype {value!r} is not one of auto, {', '.join(DTYPES)}")
    return key


def parse_vae_tile(value: str | int | None) -> int | None:
    """`--vae-tile`: "auto" (None: untiled, smaller tiles on out-of-memory) or a tile edge in pixels."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "auto")):
        return None
    try:
        tile = int(value)
    except (TypeError, ValueError):
        tile = -1
    if tile < 64 or tile % 8:
        raise ConfigError(f"--vae-tile {value!r} must be auto or a tile edge in pixels, a multiple of 8 "
                          ">= 64 (e.g. 512; 1024 fits a 24 GB GPU with fewer seams)")
    return tile


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """A one-line ConfigError unless `value` is one of `choices` (`--attention`, `--color-fix`, `--compile`)."""
    if value not in choices:
        raise ConfigError(f"{name} {value!r} is not one of {', '.join(choices)}")


def validate_model_choice(
    preset: str | Preset,
    weights: str | os.PathLike | Mapping[str, str] | None = None,
    *,
    target: TargetSize | tuple[str, float, int] | None = None,
    dtype: str | None = None,
    attention: str = ATTENTION,
    color_fix: str | None = None,
    vae_tile: int | None = None,
    compile: str | None = None,
    check_weights_exist: bool = True,
) -> Preset:
    """Check a model choice before any video is probed or any weight is read; returns the preset.

    Raises one-line `ConfigError`s: an unknown preset (with a "did you mean"), a released preset without
    weights, weights that do not exist (a cheap fsspec `exists`, skipped with `check_weights_exist=False`),
    an invalid target, dtype, attention backend, colour fix, VAE tile or compile mode.
    """
    p = get_preset(preset)
    if target is not None and not isinstance(target, TargetSize):
        target = TargetSize(*target)
    normalize_dtype(dtype)
    check_choice("attention", attention, ATTENTIONS)
    if color_fix is not None:
        check_choice("color fix", color_fix, COLOR_FIXES)
    parse_vae_tile(vae_tile)
    if compile is not None:
        check_choice("compile", compile, COMPILES)
    if p.is_identity:
        if weights:
            raise ConfigError(f"preset identity has no model, so no weights; drop --weights {weights} or "
                              f"pick a model preset ({', '.join(n for n in PRESETS if n != 'identity')})")
        return p
    if not weights:
        if p.needs_weights:
            raise ConfigError(f"preset {p.name} needs --weights PATH_OR_URL (the released checkpoint file or "
                              "folder); use --preset tiny-v2 for a random-weight smoke test")
        return p
    if check_weights_exist:
        for url in (weights.values() if isinstance(weights, Mapping) else (weights,)):
            _check_weights_exist(p, str(url))
    return p


def _check_weights_exist(p: Preset, url: str) -> None:
    from seedvr.errors import first_line
    from seedvr.video.storage import credentials_hint, filesystem

    fs, path = filesystem(url)  # an unknown or uninstalled protocol names its extra
    try:
        found = bool(fs.exists(path))
        is_dir = found and fs.isdir(path)
    except Exception as exc:  # noqa: BLE001 - endpoint down, bad credentials: one line naming the URL
        raise ConfigError(credentials_hint(exc, url) or f"weights {url} cannot be checked ({first_line(exc)}); "
                          "check the URL, the network and the credentials") from None
    names = list(p.files.dit) if p.files else []
    if not found:
        raise ConfigError(f"weights {url} not found; pass the checkpoint file or the folder holding "
                          f"{' or '.join(names)} (preset {p.name})")
    if is_dir and names and not any(fs.exists(path.rstrip("/") + "/" + n) for n in names):
        raise ConfigError(f"weights folder {url} holds none of {', '.join(names)} (preset {p.name}); "
                          "download the checkpoint there, pass the file itself, or pick the preset it is for")
