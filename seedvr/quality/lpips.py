"""LPIPS (Zhang et al. 2018, AlexNet variant) in plain torch, from weight files given by local path.

No torchvision and no downloads: the AlexNet convolutions are rebuilt here, and the weights come from
files the operator staged (torchvision's `alexnet-owt-7be5be79.pth` and the `lpips` package's
`weights/v0.1/alex.pth` heads, or one file holding both key sets).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from seedvr.errors import CheckpointError

# (in, out, kernel, stride, padding, maxpool before) for AlexNet's five conv layers, torchvision's indices.
_ALEX = ((0, 3, 64, 11, 4, 2, False), (3, 64, 192, 5, 1, 2, True), (6, 192, 384, 3, 1, 1, True),
         (8, 384, 256, 3, 1, 1, False), (10, 256, 256, 3, 1, 1, False))
_SHIFT = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
_SCALE = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)


class LPIPSAlex(nn.Module):
    """Distance between two images: unit-normalised AlexNet activations, squared difference, learned
    per-channel weights, spatial mean, summed over five layers. 0 for identical images."""

    def __init__(self) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(i, o, k, s, p) for _, i, o, k, s, p, _ in _ALEX)
        self.heads = nn.ModuleList(nn.Conv2d(o, 1, 1, bias=False) for _, _, o, *_ in _ALEX)

    def load(self, state: Mapping[str, torch.Tensor]) -> None:
        """Accepts torchvision's `features.N.*` and lpips' `linK.model.1.weight` names; refuses gaps."""
        wanted = {}
        for j, (idx, *_rest) in enumerate(_ALEX):
            wanted[f"convs.{j}.weight"] = f"features.{idx}.weight"
            wanted[f"convs.{j}.bias"] = f"features.{idx}.bias"
            wanted[f"heads.{j}.weight"] = f"lin{j}.model.1.weight"
        missing = [src for src in wanted.values() if src not in state]
        mapped = {dst: state[src] for dst, src in wanted.items() if src in state}
        if missing:
            raise CheckpointError(
                f"LPIPS weights lack {missing[:4]}{' ...' if len(missing) > 4 else ''}; pass torchvision's AlexNet "
                "state dict and lpips' v0.1 alex.pth heads as 'backbone.pth,heads.pth'"
            )
        try:
            self.load_state_dict(mapped, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"LPIPS weights have the wrong shapes: {exc}") from None

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - _SHIFT) / _SCALE
        feats = []
        for conv, (*_, pool) in zip(self.convs, _ALEX, strict=True):
            if pool:
                x = nn.functional.max_pool2d(x, 3, 2)
            x = torch.relu(conv(x))
            feats.append(x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10))
        return feats

    @torch.no_grad()
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """a, b: [B, 3, H, W] in [-1, 1] -> [B] distances."""
        total = torch.zeros(a.shape[0])
        for fa, fb, head in zip(self.features(a), self.features(b), self.heads, strict=True):
            total = total + head((fa - fb) ** 2).mean(dim=(1, 2, 3))
        return total


def load_lpips(spec: str) -> LPIPSAlex:
    """`spec` is one path or 'backbone.pth,heads.pth'; files are read with `weights_only=True`."""
    state: dict[str, torch.Tensor] = {}
    for path in (p.strip() for p in spec.split(",") if p.strip()):
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise CheckpointError(f"LPIPS weight file {path!r} not found; stage it locally first") from None
        state.update(loaded.get("state_dict", loaded) if isinstance(loaded, dict) else {})
    model = LPIPSAlex()
    model.load(state)
    return model.eval()


def lpips_distance(model: LPIPSAlex, a: np.ndarray, b: np.ndarray) -> float:
    """LPIPS of two (H, W, 3) frames on the 0-255 scale; lower is closer."""
    def tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(x, np.float32)).permute(2, 0, 1)[None] / 127.5 - 1.0

    return float(model(tensor(a), tensor(b))[0])
