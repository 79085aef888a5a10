"""MM window attention: per-stream qkv / qk-norm / out projections around one varlen attention call.

Video tokens are split into windows (regular or shifted, see `seedvr.models.window`); every window sequence
is [window video ; the sample's text], text outputs are averaged over windows (`seedvr.models.packing`).
"""

from __future__ import annotations

import torch
from torch import nn

from ..attention import varlen_attention
from ..norm import RMSNorm
from ..packing import WindowPlan
from ..rope import AxialRoPE3d, apply_rope, rope_cos_sin
from .mm import MMPair


class WindowAttention(nn.Module):
    def __init__(self, dim: int, heads: int, head_dim: int, *, eps: float, shared: bool, shifted: bool,
                 rope_kind: str, rope_dim: int) -> None:
        super().__init__()
        self.heads, self.head_dim, self.shifted = heads, head_dim, shifted
        inner = heads * head_dim
        self.proj_qkv = MMPair(lambda: nn.Linear(dim, 3 * inner, bias=False), shared=shared)
        self.proj_out = MMPair(lambda: nn.Linear(inner, dim), shared=shared)
        self.norm_q = MMPair(lambda: RMSNorm(head_dim, eps), shared=shared)
        self.norm_k = MMPair(lambda: RMSNorm(head_dim, eps), shared=shared)
        # Which rows are rotated, and where, is decided by the plan's positions (v1 text sits at 0: identity).
        self.rope = AxialRoPE3d(rope_kind, rope_dim)

    def qkv(self, x: torch.Tensor, stream: str) -> torch.Tensor:
        """x [N, D] -> [N, 3, heads, head_dim] with q and k RMS-normalised per head."""
        q, k, v = self.proj_qkv.stream(stream)(x).unflatten(-1, (3, self.heads, self.head_dim)).unbind(1)
        return torch.stack((self.norm_q.stream(stream)(q), self.norm_k.stream(stream)(k), v), dim=1)

    def forward(self, vid: torch.Tensor, txt: torch.Tensor, plan: WindowPlan, backend: str,
                need_txt: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """vid [N_vid, D], txt [N_txt, D] -> (vid_out, txt_out or None when `need_txt` is False)."""
        qkv = torch.cat([self.qkv(vid, "vid"), self.qkv(txt, "txt")])  # N 3 h d
        if plan.qk_index is None:
            q, k, v = qkv.index_select(0, plan.pack_index).unbind(1)  # total h d
        else:  # reference batch quirk: text q/k rows differ from text v rows
            q, k = qkv[:, :2].index_select(0, plan.qk_index).unbind(1)
            v = qkv[:, 2].index_select(0, plan.pack_index)
        cos, sin = rope_cos_sin(plan.positions, self.rope.freqs)  # float32, one angle per channel pair
        out = varlen_attention(apply_rope(q, cos, sin), apply_rope(k, cos, sin), v, plan.layout, backend)
        vid_out, txt_out = plan.unpack(out.flatten(1))
        vid_out = self.proj_out.stream("vid")(vid_out)
        return vid_out, (self.proj_out.stream("txt")(txt_out) if need_txt else None)
