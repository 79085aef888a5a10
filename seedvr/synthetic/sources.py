"""Still images that clips are filmed from: CC0 / public-domain photos shipped in scikit-image, or textures.

Only files whose licence scikit-image documents as CC0 or public domain are listed, so generated clips can be
shipped in demos. The files are read straight from the installed package (no download, no skimage import);
when the package is absent, `procedural:<seed>` sources keep everything working.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from seedvr.errors import ConfigError, InputError


@dataclass(frozen=True)
class StillSource:
    """One still image and the licence statement that lets us redistribute clips made from it."""

    name: str
    filename: str
    licence: str


STILLS: dict[str, StillSource] = {
    s.name: s
    for s in (
        StillSource("astronaut", "astronaut.png", "public domain (NASA)"),
        StillSource("chelsea", "chelsea.png", "CC0 (Stefan van der Walt)"),
        StillSource("coffee", "coffee.png", "CC0 (Rachel Michetti)"),
        StillSource("rocket", "rocket.jpg", "public domain (SpaceX)"),
        StillSource("retina", "retina.jpg", "CC0 1.0"),
    )
}


def _skimage_data_dir() -> Path | None:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def stills_available() -> bool:
    """True when the scikit-image data files can be read (the package is installed)."""
    d = _skimage_data_dir()
    return d is not None and (d / STILLS["astronaut"].filename).is_file()


def procedural_texture(height: int, width: int, seed: int) -> np.ndarray:
    """A textured RGB image with edges and fine detail at all scales (fallback when no photos exist).

    Sums of band-limited noise octaves plus a few hard-edged shapes, so blur, noise and blocking all show.
    """
    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.float32)
    for octave in range(6):
        cells = 2 ** (octave + 2)
        small = rng.standard_normal((max(2, cells * height // width), cells, 3)).astype(np.float32)
        img += cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC) * (0.7**octave)
    img = (img - img.min()) / max(1e-6, float(img.max() - img.min())) * 200 + 20
    for _ in range(8):
        colour = tuple(float(c) for c in rng.uniform(0, 255, 3))
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        if rng.random() < 0.5:
            cv2.circle(img, centre, int(rng.integers(4, max(5, min(height, width) // 6))), colour, -1, cv2.LINE_AA)
        else:
            other = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            cv2.rectangle(img, centre, other, colour, -1, cv2.LINE_AA)
    return np.clip(img, 0, 255).astype(np.uint8)


def load_source(source: str | np.ndarray) -> np.ndarray:
    """An RGB uint8 (H, W, 3) image for a source name, `procedural:<seed>`, or an array passed through."""
    if isinstance(source, np.ndarray):
        if source.ndim == 2:
            source = np.repeat(source[..., None], 3, axis=2)
        if source.ndim != 3 or source.shape[2] != 3 or source.dtype != np.uint8:
            raise InputError(f"source image must be (H, W, 3) uint8, got {source.shape} {source.dtype}")
        return source
    if source.startswith("procedural:"):
        try:
            seed = int(source.split(":", 1)[1])
        except ValueError:
            raise ConfigError(
                f"procedural source needs an integer seed, got {source!r} (e.g. 'procedural:3')"
            ) from None
        return procedural_texture(512, 768, seed)
    if source not in STILLS:
        raise ConfigError(f"unknown source {source!r}; use one of {sorted(STILLS)} or 'procedural:<seed>'")
    data_dir = _skimage_data_dir()
    if data_dir is None:
        raise ConfigError(
            f"source {source!r} needs scikit-image's data files; install scikit-image or use 'procedural:<seed>'"
        )
    bgr = cv2.imread(str(data_dir / STILLS[source].filename), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ConfigError(f"could not read {data_dir / STILLS[source].filename}; reinstall scikit-image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
