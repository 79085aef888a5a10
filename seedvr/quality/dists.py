"""DISTS (Ding et al. 2020, structure and texture similarity) in plain torch, from weight files given by path.

No torchvision and no downloads: the VGG16 convolutions are rebuilt here, and the weights come from files
the operator staged (torchvision's `vgg16-397923af.pth` and DISTS' `weights.pt` holding the learned
`alpha`/`beta`, or one file holding both key sets; `.safetensors` files are read too).

The backbone is VGG16's `features` with every max-pool replaced by L2 pooling (a fixed, normalised 3x3
Hann window applied depthwise to x², stride 2, then a square root), so the features stay smooth under
small shifts. Six stages are compared: the image itself and the activations after relu1_2, relu2_2,
relu3_3, relu4_3 and relu5_3 (3 + 64 + 128 + 256 + 512 + 512 = 1475 channels). Per channel, a texture
term compares the spatial means and a structure term the (co)variances; the learned weights blend them.

Frames whose shorter side exceeds 256 pixels are downscaled (antialiased bilinear) so that side is 256,
as the metric is usually reported; this keeps the score comparable across resolutions and the cost low.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from seedvr.errors import CheckpointError, InputError

# VGG16 `features` indices of the 13 convolutions, grouped into the five stages DISTS reads out
# (each stage but the first starts with a pooling layer, here L2 pooling).
_STAGES = ((0, 2), (5, 7), (10, 12, 14), (17, 19, 21), (24, 26, 28))
_CHANNELS = (3, 64, 128, 256, 512, 512)
_TOTAL = sum(_CHANNELS)  # 1475
_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
_C1 = _C2 = 1e-6
MAX_SHORT_SIDE = 256
_FILES_HINT = "pass torchvision's vgg16-397923af.pth and DISTS' weights.pt as 'vgg16.pth,weights.pt'"


def _conv_shapes() -> dict[int, tuple[int, int]]:
    """features index -> (in, out) channels for VGG16's convolutions."""
    shapes, c_in = {}, 3
    for stage, c_out in zip(_STAGES, _CHANNELS[1:], strict=True):
        for idx in stage:
            shapes[idx] = (c_in, c_out)
            c_in = c_out
    return shapes


_CONVS = _conv_shapes()


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Every key the weight files must provide, with its shape (torchvision and DISTS names)."""
    out: dict[str, tuple[int, ...]] = {}
    for idx, (c_in, c_out) in _CONVS.items():
        out[f"features.{idx}.weight"] = (c_out, c_in, 3, 3)
        out[f"features.{idx}.bias"] = (c_out,)
    out["alpha"] = out["beta"] = (1, _TOTAL, 1, 1)
    return out


class L2Pool(nn.Module):
    """sqrt(hann3x3 * x² + eps), depthwise, stride 2, padding 1: an anti-aliased replacement for max-pool."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        taps = torch.hann_window(5, periodic=False, dtype=torch.float32)[1:-1]  # 0.5, 1, 0.5
        window = taps[:, None] * taps[None, :]
        window = window / window.sum()
        self.register_buffer("window", window.expand(channels, 1, 3, 3).contiguous())
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = nn.functional.conv2d(x * x, self.window, stride=2, padding=1, groups=self.channels)
        return torch.sqrt(pooled + 1e-12)


class DISTS(nn.Module):
    """Distance between two images in [0, 1]: 1 - weighted mean of per-channel texture and structure
    similarities over six VGG16 stages. 0 for identical images; larger is more different."""

    def __init__(self) -> None:
        super().__init__()
        # no random init (14.7M parameters): every weight is overwritten by `load`, which must be called
        self.convs = nn.ModuleDict({
            str(i): nn.utils.skip_init(nn.Conv2d, c_in, c_out, 3, padding=1) for i, (c_in, c_out) in _CONVS.items()
        })
        self.pools = nn.ModuleList(L2Pool(c) for c in _CHANNELS[1:-1])
        self.register_buffer("alpha", torch.zeros(1, _TOTAL, 1, 1))
        self.register_buffer("beta", torch.zeros(1, _TOTAL, 1, 1))

    def load(self, state: Mapping[str, torch.Tensor]) -> None:
        """Takes torchvision's `features.N.weight/bias` and DISTS' `alpha`/`beta`; refuses gaps and
        wrong shapes, naming the keys. Other keys (VGG16's classifier) are ignored."""
        wanted = expected_shapes()
        missing = [k for k in wanted if k not in state]
        if missing:
            raise CheckpointError(
                f"DISTS weights lack {missing[:4]}{' ...' if len(missing) > 4 else ''}; {_FILES_HINT}"
            )
        wrong = [f"{k}: {tuple(state[k].shape)} (expected {shape})" for k, shape in wanted.items()
                 if tuple(state[k].shape) != shape]
        if wrong:
            raise CheckpointError(f"DISTS weights have the wrong shapes: {'; '.join(wrong[:4])}; {_FILES_HINT}")
        with torch.no_grad():
            for idx in _CONVS:
                self.convs[str(idx)].weight.copy_(state[f"features.{idx}.weight"])
                self.convs[str(idx)].bias.copy_(state[f"features.{idx}.bias"])
            self.alpha.copy_(state["alpha"])
            self.beta.copy_(state["beta"])

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = [x]
        h = (x - _MEAN) / _STD
        for s, stage in enumerate(_STAGES):
            if s > 0:
                h = self.pools[s - 1](h)
            for idx in stage:
                h = torch.relu(self.convs[str(idx)](h))
            feats.append(h)
        return feats

    @torch.no_grad()
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a, b: [B, 3, H, W] RGB in [0, 1] -> [B] distances."""
        n = a.shape[0]
        feats = self.features(torch.cat([a, b]))  # one pass: identical inputs give identical features
        w_sum = self.alpha.sum() + self.beta.sum()
        alphas = torch.split(self.alpha / w_sum, _CHANNELS, dim=1)
        betas = torch.split(self.beta / w_sum, _CHANNELS, dim=1)
        total = torch.zeros(n, dtype=torch.float64)
        for f, alpha, beta in zip(feats, alphas, betas, strict=True):
            x, y = f[:n], f[n:]
            mx, my = x.mean(dim=(2, 3), keepdim=True), y.mean(dim=(2, 3), keepdim=True)
            texture = (2 * mx * my + _C1) / (mx**2 + my**2 + _C1)
            vx = ((x - mx) ** 2).mean(dim=(2, 3), keepdim=True)
            vy = ((y - my) ** 2).mean(dim=(2, 3), keepdim=True)
            cov = (x * y).mean(dim=(2, 3), keepdim=True) - mx * my
            structure = (2 * cov + _C2) / (vx + vy + _C2)
            total = total + (alpha * texture + beta * structure).sum(dim=(1, 2, 3)).double()
        return (1.0 - total).clamp_min(0.0).float()


def _read(path: str) -> dict[str, torch.Tensor]:
    if not Path(path).is_file():
        raise CheckpointError(f"DISTS weight file {path!r} not found; stage it locally first ({_FILES_HINT})")
    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load_file

            loaded = load_file(path, device="cpu")
        else:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"DISTS weight file {path!r} could not be read: {exc}") from None
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict):
        raise CheckpointError(f"DISTS weight file {path!r} holds no state dict; {_FILES_HINT}")
    return {k: v for k, v in loaded.items() if isinstance(v, torch.Tensor)}


def load_dists(spec: str) -> DISTS:
    """`spec` is one path or 'vgg16.pth,weights.pt' (either order); `.pth`/`.pt` files are read with
    `weights_only=True`, `.safetensors` with safetensors."""
    state: dict[str, torch.Tensor] = {}
    for path in (p.strip() for p in spec.split(",") if p.strip()):
        state.update(_read(path))
    model = DISTS()
    model.load(state)
    return model.eval().requires_grad_(False)


def _tensor(frame: np.ndarray) -> torch.Tensor:
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise InputError(f"DISTS needs (H, W, 3) frames, got shape {frame.shape}")
    x = torch.from_numpy(np.ascontiguousarray(frame, np.float32)).permute(2, 0, 1)[None] / 255.0
    return x.clamp_(0.0, 1.0)


def _shrink(x: torch.Tensor) -> torch.Tensor:
    h, w = x.shape[-2:]
    short = min(h, w)
    if short <= MAX_SHORT_SIDE:
        return x
    size = (max(1, round(h * MAX_SHORT_SIDE / short)), max(1, round(w * MAX_SHORT_SIDE / short)))
    return nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True).clamp_(0, 1)


def dists_distance(model: DISTS, a: np.ndarray, b: np.ndarray) -> float:
    """DISTS of two (H, W, 3) frames on the 0-255 scale (uint8, or float as uint16 clips are brought to);
    lower is closer. Frames with a shorter side above 256 are downscaled to 256 first."""
    if a.shape != b.shape:
        raise InputError(f"DISTS needs frames of one size, got {a.shape} and {b.shape}")
    return float(model(_shrink(_tensor(a)), _shrink(_tensor(b)))[0])
