"""The low-quality input at output size, produced chunk by chunk on demand.

At 4K a 45-frame clip is 4.5 GB in fp32; keeping only the uint frames on the device and resizing a
few frames at a time (resizing is per frame, so chunks are exact) bounds that to one chunk.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor

CHUNK_FRAMES = 8


class LQFrames:
    def __init__(self, frames: np.ndarray, device: torch.device, out_h: int, out_w: int) -> None:
        self.max_value = float(np.iinfo(frames.dtype).max)
        # uint16 has few torch kernels: widen on the host first.
        # Views such as frames[..., ::-1] (BGR -> RGB) have negative strides torch cannot wrap.
        host = torch.from_numpy(frames.astype(np.int32) if frames.dtype == np.uint16 else np.ascontiguousarray(frames))
        self.frames = host.to(device)
        self.size = (out_h, out_w)

    def __len__(self) -> int:
        return self.frames.shape[0]

    def spans(self, size: int = CHUNK_FRAMES) -> Iterator[tuple[int, int]]:
        for i in range(0, len(self), size):
            yield i, min(i + size, len(self))

    def chunk(self, start: int, stop: int) -> Tensor:
        """Frames [start, stop) as fp32 [t, 3, H, W] in [-1, 1] at the output size."""
        x = rearrange(self.frames[start:stop], "t h w c -> t c h w").float() / self.max_value
        if x.shape[-2:] != self.size:
            # Bicubic as the reference; antialias only acts when shrinking.
            x = F.interpolate(x, size=self.size, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
        return x * 2 - 1
