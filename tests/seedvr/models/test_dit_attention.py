"""The packed window attention equals a literal per-window loop (the reference's description), including long
clips (more than 30 latents), several samples, shifted windows and the 3B batch text quirk."""

from __future__ import annotations

import pytest
import torch

from seedvr.models.dit.attention import WindowAttention
from seedvr.models.packing import build_window_plan
from seedvr.models.rope import apply_rope, rope_cos_sin
from seedvr.models.window import window_slices

NW = (4, 3, 3)


def naive_window_attention(attn: WindowAttention, vid, txt, grids, txt_lens, *, shifted, pixel, quirk):  # noqa: ANN001, ANN201
    """Loop over samples and windows; text rotated per window copy, averaged over windows."""
    freqs = attn.rope.freqs
    qkv_v, qkv_t = attn.qkv(vid, "vid"), attn.qkv(txt, "txt")
    vid_out = torch.zeros(vid.shape[0], attn.heads * attn.head_dim)
    txt_out = []
    n_vid_off, t_off = 0, 0
    windows, rot_txt = [], []  # per sample: list of window index tensors; R copies of rotated text q/k
    for (t, h, w), n in zip(grids, txt_lens, strict=True):
        idx = torch.arange(t * h * w).view(t, h, w) + n_vid_off
        wins = [idx[sl] for sl in window_slices((t, h, w), NW, shifted=shifted)]
        windows.append(wins)
        j = torch.arange(n).float()
        tpos = torch.zeros(n, 3) if pixel else torch.stack([j, j, j], -1)
        c, s = rope_cos_sin(tpos, freqs)
        qk = torch.stack([apply_rope(qkv_t[t_off:t_off + n, m], c, s) for m in (0, 1)], 1)
        rot_txt += [qk] * len(wins)
        n_vid_off, t_off = n_vid_off + t * h * w, t_off + n
    R = torch.cat(rot_txt)
    t_off = 0
    for i, n in enumerate(txt_lens):
        txt_qk = R[t_off:t_off + n] if quirk else rot_txt[sum(len(x) for x in windows[:i])]
        acc = 0
        for win in windows[i]:
            wt, wh, ww = win.shape
            if pixel:
                grid = torch.meshgrid(torch.linspace(-1, 1, wt), torch.linspace(-1, 1, wh),
                                      torch.linspace(-1, 1, ww), indexing="ij")
            else:
                grid = torch.meshgrid(torch.arange(wt).float() + n, torch.arange(wh).float(),
                                      torch.arange(ww).float(), indexing="ij")
            c, s = rope_cos_sin(torch.stack(grid, -1).reshape(-1, 3), freqs)
            rows = win.reshape(-1)
            q = torch.cat([apply_rope(qkv_v[rows, 0], c, s), txt_qk[:, 0]])
            k = torch.cat([apply_rope(qkv_v[rows, 1], c, s), txt_qk[:, 1]])
            v = torch.cat([qkv_v[rows, 2], qkv_t[t_off:t_off + n, 2]])
            a = torch.softmax(torch.einsum("qhd,khd->hqk", q, k) / attn.head_dim**0.5, -1)
            o = torch.einsum("hqk,khd->qhd", a, v).flatten(1)
            vid_out[rows] = o[: len(rows)]
            acc = acc + o[len(rows):]
        txt_out.append(acc / len(windows[i]))
        t_off += n
    return attn.proj_out.stream("vid")(vid_out), attn.proj_out.stream("txt")(torch.cat(txt_out))


@pytest.mark.parametrize(("rope", "quirk"), [("lang", False), ("lang", True), ("pixel", False)])
@pytest.mark.parametrize("shifted", [False, True])
def test_packed_attention_equals_window_loop(rope: str, quirk: bool, shifted: bool) -> None:
    torch.manual_seed(0)
    dim, heads, head_dim = 32, 2, 16
    axis_dim = 5  # 2 freqs per axis: 12 of 16 channels rotated, 4 pass through
    attn = WindowAttention(dim, heads, head_dim, eps=1e-5, shared=False, shifted=shifted, rope_kind=rope,
                           rope_dim=axis_dim)
    with torch.no_grad():
        for p in attn.parameters():
            p.add_(0.1 * torch.randn_like(p))
    grids, txt_lens = [(33, 4, 6), (3, 10, 18), (2, 5, 3)], [4, 6, 3]  # first: > 30 latents
    vid = torch.randn(sum(t * h * w for t, h, w in grids), dim)
    txt = torch.randn(sum(txt_lens), dim)
    plan = build_window_plan(grids, txt_lens, NW, shifted=shifted, rope=rope, batch_text_quirk=quirk)
    with torch.no_grad():
        v, t = attn(vid, txt, plan, "sdpa")
        v_ref, t_ref = naive_window_attention(attn, vid, txt, grids, txt_lens, shifted=shifted,
                                              pixel=rope == "pixel", quirk=quirk)
    torch.testing.assert_close(v, v_ref, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(t, t_ref, rtol=1e-4, atol=1e-5)
