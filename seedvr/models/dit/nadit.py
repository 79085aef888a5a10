"""NaDiT: the native-resolution diffusion transformer of SeedVR (7B, version 1) and SeedVR2 / SeedVR 3B
(version 2), with state-dict keys equal to the released checkpoints.

Inputs are packed ("na") tensors: all samples' tokens concatenated along dim 0, channels last, with their
shapes in `vid_shape` [B, 3] (latent T, H, W) and `txt_shape` [B, 1].
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ...errors import InputError
from ..norm import RMSNorm
from ..packing import WindowPlan, build_window_plan
from ..rope import RotaryFreqs
from .block import MMBlock
from .config import DiTConfig
from .embedding import TimeEmbedding
from .modulation import AdaSingle, split_emb
from .patch import PatchIn, PatchOut


class NaDiT(nn.Module):
    def __init__(self, cfg: DiTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        dim = cfg.vid_dim
        self.vid_in = PatchIn(cfg.vid_in_channels, cfg.patch_size, dim)
        self.txt_in = nn.Linear(cfg.txt_in_dim, dim) if cfg.txt_in_dim != dim else nn.Identity()
        self.emb_in = TimeEmbedding(dim, cfg.emb_dim)
        self.blocks = nn.ModuleList(MMBlock(cfg, i) for i in range(cfg.num_layers))
        if cfg.version == 2:
            self.vid_out_norm = RMSNorm(dim, cfg.norm_eps, affine=True)
            self.vid_out_ada = AdaSingle(dim, layers=("out",), gates=False)
        else:
            self.vid_out_norm = self.vid_out_ada = None
        self.vid_out = PatchOut(cfg.vid_out_channels, cfg.patch_size, dim)
        # Window plans depend only on the input shapes: keep a few across calls (sampling steps reuse them).
        self._plans: OrderedDict[tuple, dict[bool, WindowPlan]] = OrderedDict()

    @property
    def compute_dtype(self) -> torch.dtype:
        """The activation dtype: that of the input projection's bias (its weight may be kept float8)."""
        return self.vid_in.proj.bias.dtype

    def reset_rope_buffers(self) -> None:
        """Recompute every `blocks.N.attn.rope.rope.freqs` analytically (float32); call after loading weights."""
        for module in self.modules():
            if isinstance(module, RotaryFreqs):
                module.reset()

    def forward(self, vid: torch.Tensor, txt: torch.Tensor, vid_shape: torch.Tensor, txt_shape: torch.Tensor,
                timestep: torch.Tensor | float) -> torch.Tensor:
        """vid [sum T*H*W, 33], txt [sum L, txt_in_dim], vid_shape [B, 3], txt_shape [B, 1], timestep [B]
        (0..1000 scale) -> predicted v [sum T*H*W, 16]."""
        shapes, txt_lens, timestep = self.check_inputs(vid, txt, vid_shape, txt_shape, timestep)
        _, ph, pw = self.cfg.patch_size
        grids = [(t, h // ph, w // pw) for t, h, w in shapes]
        lens = ([t * h * w for t, h, w in grids], txt_lens)
        dtype = self.compute_dtype

        # 1. embed: text tokens, video patches, timestep -> emb [B, 2 (attn, mlp), 3 (shift, scale, gate), D]
        txt = self.txt_in(txt.to(dtype))
        vid = self.vid_in(vid.to(dtype), shapes)
        emb = split_emb(self.emb_in(timestep.to(vid.device, non_blocking=True)))

        # 2. window packing, shared by all blocks (regular for even blocks, shifted for odd ones)
        plans = self.window_plans(grids, txt_lens, vid.device)

        # 3. blocks; the last block's text output is never used
        for i, block in enumerate(self.blocks):
            vid, txt = block(vid, txt, emb, plans[block.shifted], lens, self.cfg.attention_backend,
                             need_txt=i < len(self.blocks) - 1)

        # 4. v2 final norm + ada. Reference quirk (its per-forward cache returns the entry block 0 stored
        #    under the same key): the final modulation uses the *attn* (shift, scale) slice of emb.
        if self.vid_out_norm is not None:
            vid = self.vid_out_ada.modulate(self.vid_out_norm(vid), emb[:, 0], lens[0], "out")

        # 5. unpatchify
        return self.vid_out(vid, shapes)

    def window_plans(self, grids: list[tuple[int, int, int]], txt_lens: list[int], device: torch.device
                     ) -> dict[bool, WindowPlan]:
        key = (tuple(grids), tuple(txt_lens), str(device))
        if key in self._plans:
            self._plans.move_to_end(key)
            return self._plans[key]
        # Normal tensors even when called under inference_mode, so a cached plan also serves autograd calls.
        with torch.inference_mode(False):
            plans = self._build_plans(grids, txt_lens, device)
        self._plans[key] = plans
        while len(self._plans) > 4:
            self._plans.popitem(last=False)
        return plans

    def _build_plans(self, grids: list[tuple[int, int, int]], txt_lens: list[int], device: torch.device
                     ) -> dict[bool, WindowPlan]:
        cfg = self.cfg
        return {
            shifted: build_window_plan(grids, txt_lens, cfg.num_windows, shifted=shifted,
                                       time_cap=cfg.window_time_cap, rope=cfg.rope_kind,
                                       batch_text_quirk=cfg.version == 2 and cfg.batch_text_quirk, device=device)
            for shifted in (False, True)
        }

    def check_inputs(self, vid: torch.Tensor, txt: torch.Tensor, vid_shape: torch.Tensor,
                     txt_shape: torch.Tensor, timestep: torch.Tensor | float
                     ) -> tuple[list[tuple[int, int, int]], list[int], torch.Tensor]:
        """Validate the packed inputs; returns latent shapes, text lengths and timestep [B]."""
        cfg = self.cfg
        if not torch.is_tensor(vid) or vid.ndim != 2 or vid.shape[1] != cfg.vid_in_channels:
            raise InputError(f"vid must have shape [sum(T*H*W), {cfg.vid_in_channels}], got "
                             f"{tuple(vid.shape) if torch.is_tensor(vid) else type(vid).__name__}")
        if not torch.is_tensor(txt) or txt.ndim != 2 or txt.shape[1] != cfg.txt_in_dim:
            raise InputError(f"txt must have shape [sum(L), {cfg.txt_in_dim}], got "
                             f"{tuple(txt.shape) if torch.is_tensor(txt) else type(txt).__name__}")
        for name, x, width in (("vid_shape", vid_shape, 3), ("txt_shape", txt_shape, 1)):
            if (not torch.is_tensor(x) or x.ndim != 2 or x.shape[1] != width or x.shape[0] < 1
                    or x.dtype.is_floating_point or x.dtype == torch.bool):
                raise InputError(f"{name} must be an integer tensor of shape [B, {width}] with B >= 1, got "
                                 f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}"
                                 f"{' ' + str(x.dtype) if torch.is_tensor(x) else ''}")
        batch = vid_shape.shape[0]
        if txt_shape.shape[0] != batch:
            raise InputError(f"txt_shape has {txt_shape.shape[0]} rows but vid_shape has {batch} (one per sample)")
        shapes = [tuple(int(v) for v in row) for row in vid_shape.tolist()]
        txt_lens = [int(n) for n in txt_shape[:, 0].tolist()]
        pt, ph, pw = cfg.patch_size
        for i, (t, h, w) in enumerate(shapes):
            if min(t, h, w) < 1:
                raise InputError(f"vid_shape[{i}] = {(t, h, w)}: latent T, H, W must all be >= 1")
            if t % pt or h % ph or w % pw:
                raise InputError(
                    f"vid_shape[{i}] = {(t, h, w)}: latent H and W must be multiples of {ph} and {pw} "
                    f"(pixel height and width multiples of {8 * ph} and {8 * pw})"
                )
        if min(txt_lens) < 0:
            raise InputError(f"txt_shape must be >= 0, got {txt_lens}")
        n_vid, n_txt = sum(t * h * w for t, h, w in shapes), sum(txt_lens)
        if vid.shape[0] != n_vid:
            raise InputError(f"vid has {vid.shape[0]} tokens but vid_shape sums to {n_vid} (sum of T*H*W)")
        if txt.shape[0] != n_txt:
            raise InputError(f"txt has {txt.shape[0]} tokens but txt_shape sums to {n_txt}")
        timestep = torch.as_tensor(timestep, dtype=torch.float32).reshape(-1)
        if timestep.numel() == 1:
            timestep = timestep.expand(batch)
        if timestep.numel() != batch:
            raise InputError(f"timestep must have shape [B] = [{batch}] (or be a scalar), got {timestep.numel()}")
        return shapes, txt_lens, timestep
