"""Archive-style clips with known truth: interlaced (flagged or not), telecined, letterboxed, pillarboxed,
anamorphic, multi-shot with hard cuts or a dissolve, plus the controls that must not trigger a detector
(fast progressive motion, a dark scene). Filmed from the CC0 stills (or procedural textures), so the
pictures have natural statistics; each builder returns the frames and the truth a test checks against.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from seedvr.synthetic.motion import make_clip
from seedvr.synthetic.sources import load_source, stills_available

_STILLS = ("chelsea", "astronaut", "coffee", "rocket")


@dataclass(frozen=True)
class ArchiveClip:
    name: str
    frames: np.ndarray  # (T, H, W, 3) uint8, as stored
    fps: Fraction
    truth: dict[str, Any] = field(default_factory=dict)
    field_order: str | None = None  # "tff"/"bff" to flag the stream interlaced
    sar: Fraction | None = None
    # The progressive picture a correct preparation recovers (the fields as frames, the film frames, the
    # picture inside the bars), when there is one.
    reference: np.ndarray | None = None


def _still(k: int) -> Any:
    return load_source(_STILLS[k % len(_STILLS)]) if stills_available() else f"procedural:{k}"


def _film(k: int, frames: int, size: tuple[int, int], motion: str = "pan", seed: int = 0) -> np.ndarray:
    return make_clip(_still(k), frames, size, motion=motion, seed=seed)


def weave(frames: np.ndarray, order: str = "tff") -> np.ndarray:
    """Pairs of progressive frames (at twice the rate) as one interlaced frame each: the field that comes
    first in time is the top one for `tff` (even lines), the bottom one for `bff`."""
    first, second = frames[0:-1:2], frames[1::2]
    out = (first if order == "tff" else second).copy()
    out[:, 1::2] = (second if order == "tff" else first)[:, 1::2]
    return out


def pulldown(film: np.ndarray) -> np.ndarray:
    """3:2 pulldown of 24p film to 30 frames per second: A B C D -> A, B, B/C, C/D, D (top/bottom fields)."""
    out = []
    for k in range(0, len(film) - 3, 4):
        a, b, c, d = film[k:k + 4]
        bc, cd = b.copy(), c.copy()
        bc[1::2], cd[1::2] = c[1::2], d[1::2]
        out += [a, b, bc, cd, d]
    return np.stack(out)


def interlaced(order: str = "tff", flagged: bool = True, frames: int = 50, size: tuple[int, int] = (240, 320),
               seed: int = 0) -> ArchiveClip:
    fields = _film(seed, 2 * frames, size, seed=seed)
    return ArchiveClip(f"interlaced-{order}-{'flagged' if flagged else 'unflagged'}", weave(fields, order),
                       Fraction(25), {"scan": "interlaced", "field_order": order}, order if flagged else None,
                       reference=fields)


def telecined(frames: int = 60, size: tuple[int, int] = (240, 320), seed: int = 1) -> ArchiveClip:
    film = _film(seed, frames * 4 // 5 + 4, size, seed=seed)
    return ArchiveClip("telecined", pulldown(film)[:frames], Fraction(30000, 1001), {"scan": "telecined"},
                       reference=film[:frames * 4 // 5])


def progressive(frames: int = 50, size: tuple[int, int] = (240, 320), seed: int = 2, fast: bool = False) -> ArchiveClip:
    step = 4 if fast else 1
    clip = _film(seed, frames * step, size, seed=seed)[::step]
    return ArchiveClip("fast-motion" if fast else "progressive", clip, Fraction(25),
                       {"scan": "progressive", "cuts": [], "bars": {"top": 0, "bottom": 0, "left": 0, "right": 0}})


def dark_scene(frames: int = 50, size: tuple[int, int] = (240, 320), seed: int = 3) -> ArchiveClip:
    """A night scene: the whole picture dim, with the top of it darker still (a sky), never a bar."""
    clip = _film(seed, frames, size, seed=seed).astype(np.float32) * 0.18
    ramp = np.linspace(0.35, 1.0, size[0], dtype=np.float32)[None, :, None, None]
    return ArchiveClip("dark-scene", np.clip(clip * ramp, 0, 255).astype(np.uint8), Fraction(25),
                       {"scan": "progressive", "cuts": [], "bars": {"top": 0, "bottom": 0, "left": 0, "right": 0}})


def boxed(kind: str = "letterbox", bar: int = 40, frames: int = 40, size: tuple[int, int] = (240, 320),
          seed: int = 4) -> ArchiveClip:
    """A picture inside black bars: top/bottom (letterbox) or left/right (pillarbox), limited-range black."""
    h, w = size
    inner = (h - 2 * bar, w) if kind == "letterbox" else (h, w - 2 * bar)
    pic = _film(seed, frames, inner, seed=seed)
    out = np.full((frames, h, w, 3), 16, np.uint8)
    if kind == "letterbox":
        out[:, bar:h - bar] = pic
        bars = {"top": bar, "bottom": bar, "left": 0, "right": 0}
    else:
        out[:, :, bar:w - bar] = pic
        bars = {"top": 0, "bottom": 0, "left": bar, "right": bar}
    return ArchiveClip(kind, out, Fraction(25), {"scan": "progressive", "bars": bars}, reference=pic)


def anamorphic(sar: Fraction = Fraction(32, 27), frames: int = 20, size: tuple[int, int] = (240, 320),
               seed: int = 5) -> ArchiveClip:
    return ArchiveClip(f"anamorphic-{sar.numerator}-{sar.denominator}", _film(seed, frames, size, seed=seed),
                       Fraction(25), {"sar": sar}, sar=sar)


def multi_shot(shot_frames: tuple[int, ...] = (30, 22, 40, 26), size: tuple[int, int] = (240, 320),
               seed: int = 6) -> ArchiveClip:
    """Shots of different stills and motions joined by hard cuts; truth: the first frame of each new shot."""
    motions = ("pan", "zoom", "pan", "rotate")
    shots = [_film(seed + k, n, size, motion=motions[k % len(motions)], seed=seed + k)
             for k, n in enumerate(shot_frames)]
    cuts = np.cumsum(shot_frames)[:-1].tolist()
    return ArchiveClip("multi-shot", np.concatenate(shots), Fraction(25), {"scan": "progressive", "cuts": cuts})


def dissolve(shot_frames: int = 40, overlap: int = 20, size: tuple[int, int] = (240, 320), seed: int = 8) -> ArchiveClip:
    """Two shots joined by a linear cross-dissolve of `overlap` frames: at most one cut, inside it."""
    a = _film(seed, shot_frames, size, seed=seed).astype(np.float32)
    b = _film(seed + 1, shot_frames, size, motion="zoom", seed=seed + 1).astype(np.float32)
    w = np.linspace(0, 1, overlap, dtype=np.float32)[:, None, None, None]
    mix = a[-overlap:] * (1 - w) + b[:overlap] * w
    clip = np.concatenate([a[:-overlap], mix, b[overlap:]]).round().astype(np.uint8)
    start = shot_frames - overlap
    return ArchiveClip("dissolve", clip, Fraction(25),
                       {"scan": "progressive", "dissolve": [start, start + overlap]})


def write_clip(clip: ArchiveClip, folder: str | os.PathLike[str], *, crf: int = 12) -> Path:
    """Encode as H.264 (yuv420p, one thread: same frames, same bytes), flagged interlaced and with a sample
    aspect ratio when the clip says so; returns the path."""
    path = Path(folder) / f"{clip.name}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    _, h, w, _ = clip.frames.shape
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=clip.fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        opts = {"crf": str(crf), "preset": "ultrafast", "threads": "1"}
        if clip.field_order:
            opts["flags"] = "+ilme+ildct"
            opts["x264-params"] = "tff=1" if clip.field_order == "tff" else "bff=1"
        v.options = opts
        if clip.sar is not None:
            v.codec_context.sample_aspect_ratio = clip.sar
        for f in clip.frames:
            out.mux(v.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")))
        out.mux(v.encode())
    return path


def archive_set(size: tuple[int, int] = (240, 320)) -> list[ArchiveClip]:
    """Every case once, with its truth."""
    return [
        interlaced("tff", True, size=size), interlaced("tff", False, size=size, seed=10),
        interlaced("bff", True, size=size, seed=11), telecined(size=size), boxed("letterbox", size=size),
        boxed("pillarbox", bar=48, size=size), anamorphic(size=size), multi_shot(size=size), dissolve(size=size),
        progressive(size=size, fast=True), dark_scene(size=size),
    ]
