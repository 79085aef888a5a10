"""One NaDiT block (`NaMMSRTransformerBlock`): per stream, norm -> ada -> attention -> gate -> residual,
then norm -> ada -> MLP -> gate -> residual.

3B (version 2) last block is "vid-only": its text enters attention RMS-normalised but *not* modulated (video
windows still attend to it), and text gets no gate and no MLP. The text output of the last block is never
used, so it is not computed at all (`need_txt=False`), for both versions.
"""

from __future__ import annotations

import torch
from torch import nn

from ..norm import RMSNorm
from ..packing import WindowPlan
from .attention import WindowAttention
from .config import DiTConfig
from .mlp import GeluMLP, SwiGLUMLP
from .mm import MMPair
from .modulation import AdaSingle


class MMBlock(nn.Module):
    def __init__(self, cfg: DiTConfig, index: int) -> None:
        super().__init__()
        dim = cfg.vid_dim
        shared = index >= cfg.separate_layers
        vid_only = cfg.version == 2 and index == cfg.num_layers - 1
        self.shifted = index % 2 == 1  # even blocks: regular windows, odd blocks: shifted windows
        # attn_norm / mlp_norm have no affine parameters, hence no state-dict keys: one module serves both.
        self.norm = RMSNorm(dim, cfg.norm_eps, affine=False)
        self.attn = WindowAttention(
            dim, cfg.heads, cfg.head_dim, eps=cfg.norm_eps, shared=shared, shifted=self.shifted,
            rope_kind=cfg.rope_kind, rope_dim=cfg.rope_axis_dim,
        )
        mlp = SwiGLUMLP if cfg.version == 2 else GeluMLP
        self.mlp = MMPair(lambda: mlp(dim, cfg.expand_ratio), shared=shared, vid_only=vid_only)
        self.ada = MMPair(lambda: AdaSingle(dim), shared=shared, vid_only=vid_only)

    def forward(self, vid: torch.Tensor, txt: torch.Tensor, emb: torch.Tensor, plan: WindowPlan,
                lens: tuple[list[int], list[int]], backend: str, need_txt: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """vid [N_vid, D], txt [N_txt, D], emb [B, 2 (attn, mlp), 3 (shift, scale, gate), D]."""
        vid_lens, txt_lens = lens
        ada_v, ada_t = self.ada.stream("vid"), self.ada.stream("txt")
        e_attn, e_mlp = emb[:, 0], emb[:, 1]

        # 1. attention
        a_vid = ada_v.modulate(self.norm(vid), e_attn, vid_lens, "attn")
        a_txt = self.norm(txt)
        if ada_t is not None:
            a_txt = ada_t.modulate(a_txt, e_attn, txt_lens, "attn")
        a_vid, a_txt = self.attn(a_vid, a_txt, plan, backend, need_txt=need_txt)
        vid = vid + ada_v.gate(a_vid, e_attn, vid_lens, "attn")

        # 2. MLP
        m_vid = self.mlp.stream("vid")(ada_v.modulate(self.norm(vid), e_mlp, vid_lens, "mlp"))
        vid = vid + ada_v.gate(m_vid, e_mlp, vid_lens, "mlp")
        if not need_txt:
            return vid, None
        if ada_t is None:  # vid-only block: ungated residual, no text MLP
            return vid, txt + a_txt
        txt = txt + ada_t.gate(a_txt, e_attn, txt_lens, "attn")
        m_txt = self.mlp.stream("txt")(ada_t.modulate(self.norm(txt), e_mlp, txt_lens, "mlp"))
        return vid, txt + ada_t.gate(m_txt, e_mlp, txt_lens, "mlp")
