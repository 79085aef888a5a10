"""Causal 3D convolution with explicit streaming state.

Time is causal: instead of symmetric temporal zero padding, the first frame is replicated `k_t - 1`
times at the front, so frame `t` of the output only sees input frames `<= t`. Long clips are processed
in chunks; the conv then takes the tail of the previous chunk (`cache`) in place of the replicated head
and returns the tail the next chunk needs. Nothing is stored on the module, so chunked equals whole.

A cache is a nested dict mirroring the module tree (`{"conv1": tensor, "resnets.0": {...}}`); `None`
means "first chunk": replicate the first frame, and for temporal upsamplers drop the duplicated frame.
Passing a cache hands it over: its entries are taken out as they are used.
"""

from __future__ import annotations

from typing import Union

import torch
from torch import Tensor, nn

Cache = dict[str, Union["Cache", Tensor]]


def sub_cache(cache: Cache | None, name: str) -> Cache | Tensor | None:
    """Take the child entry out of a cache (None on the first chunk).

    Entries are popped: a cache is consumed by the forward it is passed to, so each conv's old tail
    is released as soon as the new one exists, instead of two full sets living until the chunk ends.
    """
    return None if cache is None else cache.pop(name)


def _triple(v: int | tuple[int, int, int]) -> tuple[int, int, int]:
    return (v, v, v) if isinstance(v, int) else tuple(v)  # type: ignore[return-value]


class CausalConv3d(nn.Conv3d):
    """nn.Conv3d (same state-dict keys) with causal time padding and a cache in / cache out forward."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int, int],
        stride: int | tuple[int, int, int] = 1,
        spatial_padding: int | None = None,
    ) -> None:
        k = _triple(kernel_size)
        if _triple(stride)[0] > k[0]:
            # The next chunk would have to skip input frames, which a tail cache cannot express.
            raise ValueError(f"temporal stride {_triple(stride)[0]} larger than temporal kernel {k[0]} is not supported")
        # Default: "same" spatial zero padding for odd kernels; time padding is always causal.
        pad = k[1] // 2 if spatial_padding is None else spatial_padding
        super().__init__(in_channels, out_channels, k, stride=_triple(stride), padding=(0, pad, pad))

    def forward(  # type: ignore[override]
        self, x: Tensor, cache: Tensor | None = None, *, padded: bool = False
    ) -> tuple[Tensor, Tensor]:
        """x [B,C,T,H,W] -> (y [B,C',T_out,H',W'], tail of the padded input for the next chunk).

        `padded=True`: x already starts with its `k_t - 1` head frames (cache or replicas); callers
        that build the conv input anyway (norm + SiLU, the upsampler) write it after the head directly
        and save a concatenation copy.
        """
        kt, st = self.kernel_size[0], self.stride[0]
        if not padded:
            head = x[:, :, :1].expand(-1, -1, kt - 1, -1, -1) if cache is None else cache.to(x)
            x = torch.cat([head, x], dim=2) if head.shape[2] else x
        n_out = (x.shape[2] - kt) // st + 1
        if n_out < 1:
            raise ValueError(
                f"causal conv needs at least {kt} frames including its cache, got {x.shape[2]}; "
                "feed longer chunks"
            )
        # The next window starts at n_out * st; a copy so the chunk's activations can be freed.
        next_cache = x[:, :, n_out * st :].clone()
        return super().forward(x), next_cache
