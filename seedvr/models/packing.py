"""Index maps that turn packed video/text tokens into window sequences for varlen attention, and back.

For every sample i and each of its windows j, the attention sequence is [video tokens of window j ; all text
tokens of sample i]: the text is repeated in every window, and its outputs are averaged over the windows.
A `WindowPlan` is built once per forward (per partition: regular or shifted) on the CPU with numpy and reused
by every block; the maps are plain gathers on the model's device.

Sequences are ordered by length (stable), so that equal-length windows are contiguous and the SDPA backend
can run each run of them as one batched call. Inside a window, tokens keep the (t, h, w) row-major order.

RoPE positions of each packed row are stored with the plan (float32 [total, 3]):
- "lang" (3B MM-RoPE): video (L_txt + t, h, w) with window-local t, h, w; text (j, j, j);
- "pixel" (7B): video linspace(-1, 1, window extent)[local index] per axis; text rows get 0 (identity).

Reference quirk (3B, batches of more than one sample; `batch_text_quirk=True`): the reference rotates a
per-window *repeated* copy of the text q/k (R = for each sample s, n_s copies of its L_s rotated tokens) but
then gathers text rows with the offsets of the un-repeated text. Sample i's text q/k are therefore rows
[off_i, off_i + L_i) of R, with off_i = L_0 + ... + L_(i-1): sample 0 is unaffected, later samples get
(mostly) another sample's text q/k, rotated by that row's own position. Text *values* are not affected.
`qk_index` (None when equal to `pack_index`) is the packing of q and k.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .attention import VarlenLayout
from .window import Segment, window_segments


@dataclass(frozen=True)
class WindowPlan:
    pack_index: torch.Tensor  # [total] rows of cat([vid, txt]) in packed order
    qk_index: torch.Tensor | None  # same for q and k when it differs (batch_text_quirk), else None
    vid_unpack: torch.Tensor  # [N_vid] packed row of each video token
    txt_gather: torch.Tensor  # [sum n_i * L_i] packed text rows, ordered (sample, window, token)
    txt_windows: tuple[int, ...]  # n_i: windows of sample i
    txt_lens: tuple[int, ...]  # L_i
    layout: VarlenLayout
    positions: torch.Tensor | None  # [total, 3] float32 RoPE positions, None without RoPE
    window_shapes: tuple[tuple[int, int, int], ...]  # (t, h, w) of every window, packed order

    def pack(self, vid: torch.Tensor, txt: torch.Tensor) -> torch.Tensor:
        """vid [N_vid, ...], txt [N_txt, ...] -> packed [total, ...]."""
        return torch.cat([vid, txt]).index_select(0, self.pack_index)

    # Opaque to torch.compile: the split follows the plan's window counts, which change with the clip size.
    @torch.compiler.disable
    def unpack(self, packed: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """packed [total, ...] -> (vid [N_vid, ...] in token order, txt [N_txt, ...] averaged over windows)."""
        vid = packed.index_select(0, self.vid_unpack)
        txt = packed.index_select(0, self.txt_gather)
        parts = txt.split([n * length for n, length in zip(self.txt_windows, self.txt_lens, strict=True)])
        txt = torch.cat([p.unflatten(0, (n, length)).mean(0)
                         for p, n, length in zip(parts, self.txt_windows, self.txt_lens, strict=True)])
        return vid, txt


def _axis_maps(segments: list[Segment], size: int, pixel: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per position along one axis: segment id and RoPE position (local index, or linspace(-1, 1))."""
    seg_id = np.empty(size, dtype=np.int64)
    pos = np.empty(size, dtype=np.float32)
    for k, (a, b) in enumerate(segments):
        seg_id[a:b] = k
        # torch.linspace, not numpy's, to reproduce the reference's float32 values bit for bit.
        pos[a:b] = torch.linspace(-1, 1, b - a).numpy() if pixel else np.arange(b - a, dtype=np.float32)
    return seg_id, pos


def _sample_windows(grid: tuple[int, int, int], txt_len: int, num_windows: tuple[int, int, int], *,
                    shifted: bool, time_cap: int, pixel: bool) -> list[tuple[np.ndarray, np.ndarray, tuple]]:
    """One sample's windows in reference order (w outer, h, t inner): (token rows, RoPE positions, shape)."""
    t, h, w = grid
    segs = window_segments(grid, num_windows, shifted=shifted, time_cap=time_cap)
    (id_t, p_t), (id_h, p_h), (id_w, p_w) = (_axis_maps(s, n, pixel) for s, n in zip(segs, grid, strict=True))
    nt, nh, nw = (len(s) for s in segs)
    wid = ((id_w[None, None, :] * nh + id_h[None, :, None]) * nt + id_t[:, None, None]).reshape(-1)
    order = np.argsort(wid, kind="stable")  # grouped by window, row-major inside each window
    starts = np.concatenate([[0], np.cumsum(np.bincount(wid, minlength=nt * nh * nw))])
    pos = np.stack(np.broadcast_arrays(p_t[:, None, None] + (0 if pixel else txt_len),
                                       p_h[None, :, None], p_w[None, None, :]), -1).reshape(-1, 3)
    windows = []
    for j in range(nt * nh * nw):
        iw, ih, it = j // (nh * nt), j // nt % nh, j % nt
        rows = order[starts[j]:starts[j + 1]]
        shape = (segs[0][it][1] - segs[0][it][0], segs[1][ih][1] - segs[1][ih][0], segs[2][iw][1] - segs[2][iw][0])
        windows.append((rows, pos[rows], shape))
    return windows


def _text_qk_source(txt_lens: Sequence[int], n_windows: Sequence[int], quirk: bool
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per text token: the text row its q/k come from and that row's position j (see the module docstring)."""
    own_j = [np.arange(n) for n in txt_lens]
    if not quirk:
        return np.arange(sum(txt_lens)), np.concatenate(own_j)
    offs = np.concatenate([[0], np.cumsum(txt_lens)]).astype(np.int64)
    rep_src = np.concatenate([np.tile(np.arange(offs[i], offs[i + 1]), n) for i, n in enumerate(n_windows)])
    rep_j = np.concatenate([np.tile(j, n) for j, n in zip(own_j, n_windows, strict=True)])
    return rep_src[: offs[-1]], rep_j[: offs[-1]]


def build_window_plan(
    grids: Sequence[tuple[int, int, int]],
    txt_lens: Sequence[int],
    num_windows: tuple[int, int, int],
    *,
    shifted: bool,
    time_cap: int = 30,
    rope: str | None = "lang",
    batch_text_quirk: bool = False,
    device: torch.device | str | None = None,
) -> WindowPlan:
    """Window packing of samples with token grids `grids` [(t, h, w)] and text lengths `txt_lens`."""
    if len(grids) != len(txt_lens) or not grids:
        raise ValueError(f"need one text length per sample, got {len(grids)} grids and {len(txt_lens)} lengths")
    pixel = rope == "pixel"
    n_vid = sum(t * h * w for t, h, w in grids)
    txt_offs = np.concatenate([[0], np.cumsum(txt_lens)]).astype(np.int64)

    # 1. windows of every sample: (sequence length, sample, video rows, positions, shape)
    seqs, vid_off = [], 0
    for i, (grid, length) in enumerate(zip(grids, txt_lens, strict=True)):
        for rows, pos, shape in _sample_windows(grid, length, num_windows, shifted=shifted, time_cap=time_cap,
                                                pixel=pixel):
            seqs.append((len(rows) + length, i, rows + vid_off, pos, shape))
        vid_off += grid[0] * grid[1] * grid[2]
    n_windows = [sum(1 for sq in seqs if sq[1] == i) for i in range(len(grids))]

    # 2. text rows: values always from the sample itself; q/k (and their positions) per the quirk
    quirk = batch_text_quirk and rope == "lang" and len(grids) > 1
    qk_src, qk_j = _text_qk_source(txt_lens, n_windows, quirk)
    qk_pos = np.zeros((len(qk_j), 3), np.float32) if pixel else np.repeat(qk_j[:, None], 3, 1).astype(np.float32)
    txt_slices = [slice(txt_offs[i], txt_offs[i + 1]) for i in range(len(grids))]

    # 3. sequences ordered by length (stable), so equal-length windows are contiguous
    index, qk_index, positions, seqlens, shapes = [], [], [], [], []
    txt_starts: list[list[tuple[int, int]]] = [[] for _ in grids]
    row = 0
    for s in sorted(range(len(seqs)), key=lambda s: seqs[s][0]):
        length, i, rows, pos, shape = seqs[s]
        index += [rows, n_vid + np.arange(txt_offs[i], txt_offs[i + 1])]
        qk_index += [rows, n_vid + qk_src[txt_slices[i]]]
        positions += [pos, qk_pos[txt_slices[i]]]
        seqlens.append(length)
        shapes.append(shape)
        txt_starts[i].append((s, row + len(rows)))
        row += length

    # 4. inverse maps: video rows back to token order; text rows per sample in window order
    pack_index = np.concatenate(index)
    vid_unpack = np.empty(n_vid, dtype=np.int64)
    is_vid = pack_index < n_vid
    vid_unpack[pack_index[is_vid]] = np.nonzero(is_vid)[0]
    txt_gather = np.concatenate([
        (np.array([r for _, r in sorted(starts)])[:, None] + np.arange(txt_lens[i])[None, :]).reshape(-1)
        for i, starts in enumerate(txt_starts)
    ])

    def dev(a: np.ndarray) -> torch.Tensor:  # queued copies: building a plan never waits for the device
        return torch.from_numpy(np.ascontiguousarray(a)).to(device, non_blocking=True)

    return WindowPlan(
        pack_index=dev(pack_index),
        qk_index=dev(np.concatenate(qk_index)) if quirk else None,
        vid_unpack=dev(vid_unpack),
        txt_gather=dev(txt_gather.astype(np.int64)),
        txt_windows=tuple(n_windows),
        txt_lens=tuple(int(n) for n in txt_lens),
        layout=VarlenLayout.from_seqlens(seqlens, device),
        positions=dev(np.concatenate(positions).astype(np.float32)) if rope is not None else None,
        window_shapes=tuple(shapes),
    )
