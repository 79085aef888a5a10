"""Peak activation memory of a VAE encode or decode (`seedvr/models/vae`), replayed on sizes alone.

Every VAE tensor is channels x frames x pixels at one resolution level (8x space, 4x time in all), so
its bytes are C * T * H * W * E. The peak depends on the order in which the code allocates and drops
them, so this module walks the same layers in the same order, chunk by causal chunk, and keeps a running
sum of the tensors alive (`_Live`):

- a causal conv's padded input (its head frames: the previous chunk's tail or replicas of frame 0), its
  output, and the tail it hands to the next chunk (kept in the cache: 2 frames per 3-tap conv);
- per-frame GroupNorm's layout copies, of at most `NORM_SLICE_BYTES` each (blocks.py slices big inputs);
- a resnet's input (the residual), each block's input held by its caller, the upsampler's C * 4 (* 2 in
  time) channel tensor, the downsampler's zero-padded input, the mid block's per-frame attention;
- the output buffer of all frames, and for spatial tiles the full-size blend accumulator.

Chunks follow `_causal_chunks` (encode: 1 + 4 frames, then 4; decode: 1 + 1 latents, then 1), tiles
`plan_tiles`; all of it is exact for the code as written, because it replays it.
"""

from __future__ import annotations

from dataclasses import dataclass

from seedvr.models.vae import blocks
from seedvr.models.vae.coders import _scale_kinds
from seedvr.models.vae.config import VAEConfig
from seedvr.models.vae.model import _causal_chunks
from seedvr.models.vae.tiling import TILE_UNIT_PX, VAETiling, plan_tiles


class _Live:
    """A running sum of live bytes with its maximum: `add` returns a handle that `free` drops."""

    def __init__(self) -> None:
        self.now = self.peak = 0

    def add(self, nbytes: int) -> int:
        self.now += nbytes
        self.peak = max(self.peak, self.now)
        return nbytes

    def free(self, *handles: int) -> None:
        self.now -= sum(handles)


@dataclass
class _Shape:
    """One activation: channels, frames, height, width (batch 1)."""

    c: int
    t: int
    h: int
    w: int

    def bytes(self, e: int) -> int:
        return self.c * self.t * self.h * self.w * e


class _Walk:
    """Replays Encoder3D / Decoder3D on shapes, one chunk at a time.

    `old` holds the tails (frames, bytes) the previous chunk left, popped as the convs take them (as
    `sub_cache` does); `new` collects this chunk's tails.
    """

    def __init__(self, cfg: VAEConfig, e: int, live: _Live) -> None:
        self.cfg, self.e, self.live = cfg, e, live
        self.old: dict[str, tuple[int, int]] | None = None  # None: the first chunk
        self.new: dict[str, tuple[int, int]] = {}

    # -- layers ---------------------------------------------------------------------------------------

    def take(self, name: str) -> tuple[int | None, int]:
        """(frames, bytes) of the tail the previous chunk left for `name`; (None, 0) on the first chunk."""
        if self.old is None:
            return None, 0
        return self.old.pop(name)

    def norm(self, x: _Shape) -> None:
        """FrameGroupNorm: frames fold into the batch as a view (batch 1); group_norm's output per slice
        of whole groups, two alive at once from the second slice on (the loop rebinds after the call)."""
        nbytes = x.bytes(self.e)
        n = blocks._slices(self.cfg.norm_num_groups, nbytes)
        held = self.live.add((1 if n == 1 else 2) * (nbytes // n))
        self.live.free(held)

    def conv(self, name: str, x: _Shape, c_out: int, kt: int, st: int, *, padded: bool) -> _Shape:
        """A causal conv on `x` (already holding its head frames when `padded`); returns its output.

        Unpadded, the head (the old tail, or frame 0 repeated) is concatenated in a new tensor, and the
        old tail is dropped when the conv returns; padded callers drop it themselves.
        """
        cat = old = 0
        length = x.t
        if not padded:
            prev, old = self.take(name)
            head = kt - 1 if prev is None else prev
            length += head
            cat = self.live.add(x.c * length * x.h * x.w * self.e) if head else 0
        n_out = (length - kt) // st + 1
        tail = length - n_out * st
        self.new[name] = (tail, self.live.add(x.c * tail * x.h * x.w * self.e))
        out = _Shape(c_out, n_out, x.h, x.w)
        self.live.add(out.bytes(self.e))
        self.live.free(cat, old)
        return out

    def norm_silu_padded(self, name: str, x: _Shape) -> tuple[_Shape, int]:
        """The conv's padded input, which norm + SiLU write in place; the old tail goes on return."""
        _, old = self.take(name)
        full = _Shape(x.c, 2 + x.t, x.h, x.w)
        held = self.live.add(full.bytes(self.e))
        self.norm(x)
        self.live.free(old)
        return full, held

    def resnet(self, name: str, x: _Shape, c_out: int) -> _Shape:
        padded, p1 = self.norm_silu_padded(f"{name}.conv1", x)
        h = self.conv(f"{name}.conv1", padded, c_out, 3, 1, padded=True)
        self.live.free(p1)
        padded, p2 = self.norm_silu_padded(f"{name}.conv2", h)
        self.live.free(h.bytes(self.e))
        h = self.conv(f"{name}.conv2", padded, c_out, 3, 1, padded=True)
        self.live.free(p2)
        if x.c != c_out:  # 1x1x1 shortcut, added in place and dropped on return
            self.live.free(self.live.add(h.bytes(self.e)))
        return h

    def downsample(self, name: str, x: _Shape, temporal: bool) -> _Shape:
        """Zero pad right and bottom (a new tensor, alive through the conv), stride-2 conv."""
        pad = _Shape(x.c, x.t, x.h + 1, x.w + 1)
        held = self.live.add(pad.bytes(self.e))
        kt, st = (3, 2) if temporal else (1, 1)
        out = self.conv(f"{name}.conv", pad, x.c, kt, st, padded=False)
        self.live.free(held)
        # The stride-2 output was allocated at the padded size above; correct to the real one.
        real = _Shape(out.c, out.t, x.h // 2, x.w // 2)
        self.live.free(out.bytes(self.e) - real.bytes(self.e))
        return real

    def upsample(self, name: str, x: _Shape, temporal: bool) -> _Shape:
        """1x1x1 conv to C*4 (*2) channels, depth-to-space into the conv's padded input, conv."""
        zt = 2 if temporal else 1
        prev, old = self.take(f"{name}.conv")
        up = self.live.add(_Shape(x.c * 4 * zt, x.t, x.h, x.w).bytes(self.e))
        drop = temporal and prev is None
        full = _Shape(x.c, 2 + x.t * zt - int(drop), 2 * x.h, 2 * x.w)
        held = self.live.add(full.bytes(self.e))
        self.live.free(up)
        out = self.conv(f"{name}.conv", full, x.c, 3, 1, padded=True)
        self.live.free(held, old)
        return out

    def attention(self, x: _Shape) -> _Shape:
        """Per-frame single-head attention: norm copy, q/k/v, SDPA output, projection, residual sum."""
        xb = x.bytes(self.e)
        copy = self.live.add(xb)  # the frames-into-batch layout copy of x for GroupNorm
        normed = self.live.add(xb)
        self.live.free(copy)
        qkv = self.live.add(3 * xb)
        attn = self.live.add(xb + x.t * x.h * x.w * 4)  # output and its float32 log-sum-exp
        proj = self.live.add(xb)
        self.live.free(attn)
        self.live.add(xb)  # x + out
        self.live.free(normed, qkv, proj)
        return x

    def block(self, name: str, x: _Shape, c_out: int, layers: int, kind: str | None, up: bool) -> _Shape:
        """A down or up block; its input stays alive (the caller holds it) until the block returns."""
        y = x
        for i in range(layers):
            z = self.resnet(f"{name}.resnets.{i}", y, c_out)
            if y is not x:
                self.live.free(y.bytes(self.e))
            y = z
        if kind is not None:
            sample = self.upsample if up else self.downsample
            z = sample(f"{name}.sampler", y, kind == "spacetime")
            if y is not x:
                self.live.free(y.bytes(self.e))
            y = z
        return y

    # -- stacks ---------------------------------------------------------------------------------------

    def chunk(self, x: _Shape, encode: bool) -> _Shape:
        """One chunk through the encoder or decoder; `x` is a view of the caller's input."""
        cfg, e = self.cfg, self.e
        ch = cfg.block_out_channels if encode else tuple(reversed(cfg.block_out_channels))
        kinds = _scale_kinds(cfg) if encode else [*reversed(_scale_kinds(cfg)[:-1]), None]
        layers = cfg.layers_per_block + (0 if encode else 1)
        y = self.conv("conv_in", x, ch[0], 3, 1, padded=False)
        stages: list[tuple[str, int, str | None]] = [(f"blocks.{i}", ch[i], kinds[i]) for i in range(len(ch))]
        stages = [*stages, ("mid", ch[-1], None)] if encode else [("mid", ch[0], None), *stages]
        for name, c_out, kind in stages:
            z = self._mid(y) if name == "mid" else self.block(name, y, c_out, layers, kind, up=not encode)
            self.live.free(y.bytes(e))
            y = z
        padded, held = self.norm_silu_padded("conv_out", y)
        self.live.free(y.bytes(e))
        out_c = 2 * cfg.latent_channels if encode else cfg.out_channels
        out = self.conv("conv_out", padded, out_c, 3, 1, padded=True)
        self.live.free(held)
        # This chunk's tails become the next chunk's cache; whatever the old cache still held goes.
        self.live.free(*(nbytes for _, nbytes in (self.old or {}).values()))
        self.old, self.new = self.new, {}
        return out

    def _mid(self, x: _Shape) -> _Shape:
        a = self.resnet("mid.resnets.0", x, x.c)
        b = self.attention(a)
        self.live.free(a.bytes(self.e))
        c = self.resnet("mid.resnets.1", b, b.c)
        self.live.free(b.bytes(self.e))
        return c

    def release(self) -> None:
        """The cache dies with `_stream`."""
        self.live.free(*(nbytes for _, nbytes in (self.old or {}).values()))
        self.old = None


def _stream(cfg: VAEConfig, e: int, live: _Live, x: _Shape, encode: bool, sliced: bool) -> _Shape:
    """`VideoVAE._stream`: chunks with the cache carried over, written into one all-frames buffer."""
    walk = _Walk(cfg, e, live)
    k = cfg.encode_slice_frames if encode else cfg.decode_slice_latents
    t_scale = cfg.temporal_downsample_factor
    total = (x.t - 1) // t_scale + 1 if encode else (x.t - 1) * t_scale + 1
    out: _Shape | None = None
    for a, b in _causal_chunks(x.t, k, sliced):
        y = walk.chunk(_Shape(x.c, b - a, x.h, x.w), encode)
        if out is None:
            out = _Shape(y.c, total, y.h, y.w)
            live.add(out.bytes(e))
        live.free(y.bytes(e))
    walk.release()
    assert out is not None
    return out


def _tiles(length: int, unit_in: int, tiling: VAETiling) -> list[int]:
    """Tile extents along one axis, in input units (`plan_tiles` on the 8-px latent grid)."""
    tile_u, overlap_u = tiling.tile_px // TILE_UNIT_PX, tiling.overlap_px // TILE_UNIT_PX
    return [n * unit_in for _, n in plan_tiles(length // unit_in, tile_u, overlap_u)]


@dataclass(frozen=True)
class VAEPeak:
    """Peak activation bytes of one encode or decode (input excluded, output included) and its tiles."""

    bytes: int
    tiles: int


def vae_peak(cfg: VAEConfig, op: str, frames: int, height: int, width: int, dtype_bytes: int,
             tiling: VAETiling | None = None, sliced: bool = True) -> VAEPeak:
    """Peak of `VideoVAE.encode_moments` (op 'encode') or `decode` ('decode') of a `frames`-frame
    (4n+1) clip of height x width pixels; the input tensor itself is the caller's and not counted."""
    if op not in ("encode", "decode"):
        raise ValueError(f"op must be 'encode' or 'decode', got {op!r}")
    encode = op == "encode"
    s, t = cfg.spatial_downsample_factor, cfg.temporal_downsample_factor
    x = _Shape(cfg.in_channels, frames, height, width) if encode else \
        _Shape(cfg.latent_channels, (frames - 1) // t + 1, height // s, width // s)
    unit_in, unit_out = (s, 1) if encode else (1, s)
    live = _Live()
    if tiling is None:
        _stream(cfg, dtype_bytes, live, x, encode, sliced)
        return VAEPeak(live.peak, 1)
    rows, cols = _tiles(x.h, unit_in, tiling), _tiles(x.w, unit_in, tiling)
    if len(rows) == 1 and len(cols) == 1:
        _stream(cfg, dtype_bytes, live, x, encode, sliced)
        return VAEPeak(live.peak, 1)
    out_h, out_w = x.h * unit_out // unit_in, x.w * unit_out // unit_in
    # float32 blend weights: the sum over tiles, and each tile's own map (all made up front)
    maps = sum((r // unit_in * unit_out) * (c // unit_in * unit_out) for r in rows for c in cols)
    live.add((out_h * out_w + maps) * 4)
    acc = 0
    for r in rows:
        for c in cols:
            y = _stream(cfg, dtype_bytes, live, _Shape(x.c, x.t, r, c), encode, sliced)
            if not acc:
                acc = live.add(_Shape(y.c, y.t, out_h, out_w).bytes(dtype_bytes))
            weight = live.add(y.h * y.w * (4 + (dtype_bytes if dtype_bytes != 4 else 0)))  # w / total, cast
            live.add(y.bytes(dtype_bytes))  # y * weight
            live.free(y.bytes(dtype_bytes), weight, y.bytes(dtype_bytes))
    return VAEPeak(live.peak, len(rows) * len(cols))


def tile_count(height: int, width: int, tiling: VAETiling | None) -> int:
    """Tiles of a height x width frame (1 untiled)."""
    if tiling is None:
        return 1
    s = TILE_UNIT_PX
    return len(_tiles(height, s, tiling)) * len(_tiles(width, s, tiling))
