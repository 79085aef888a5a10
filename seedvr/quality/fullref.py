"""Full-reference scores against a ground truth: PSNR and SSIM on BT.601 luma (the SR papers' convention).

Both are scikit-image's (`skimage.metrics`), so the numbers are the ones a reader reproduces by hand; this
module only fixes the conventions around them: luma, peak 255, a finite cap for identical frames, and
the PSNR of a clip as the PSNR of its mean squared error (`pooled_psnr`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from seedvr.errors import InputError
from seedvr.quality.frames import luma

# Identical frames have infinite PSNR; a finite cap keeps means, Delta columns and MLflow metrics usable.
PSNR_CAP_DB = 100.0
PEAK = 255.0
_SSIM_WINDOW = 11  # the Gaussian window of sigma 1.5 truncated at 3.5 sigma, as in Wang et al. 2004


def _plane(frame: np.ndarray, on_luma: bool) -> np.ndarray:
    # float64 before scikit-image (uint8 RGB it converts itself): on float32 it would subtract in float32.
    x = luma(frame) if on_luma else frame
    return x if x.dtype == np.uint8 else x.astype(np.float64)


def psnr(a: np.ndarray, b: np.ndarray, *, on_luma: bool = True) -> float:
    """PSNR in dB (peak 255) of two equally sized frames, luma by default, RGB with `on_luma=False`;
    `PSNR_CAP_DB` for identical frames (and never above it)."""
    x, y = _plane(a, on_luma), _plane(b, on_luma)
    if x.shape != y.shape:
        raise InputError(f"psnr needs frames of one size, got {x.shape} and {y.shape}")
    with np.errstate(divide="ignore"):  # identical frames: zero error, infinite PSNR
        db = float(peak_signal_noise_ratio(y, x, data_range=PEAK))
    return min(PSNR_CAP_DB, db)


def pooled_psnr(frame_psnrs: Iterable[float]) -> float:
    """PSNR of the mean squared error of several frames, from their per-frame PSNRs (in dB).

    This is a clip's (or a video's) PSNR: the frames' errors are averaged, then expressed in dB. Frames at
    the cap count as (nearly) zero error; all of them at the cap give the cap.
    """
    db = np.asarray([v for v in frame_psnrs if np.isfinite(v)], np.float64)
    if db.size == 0:
        return float("nan")
    if np.all(db >= PSNR_CAP_DB):
        return PSNR_CAP_DB
    mse = PEAK**2 * np.power(10.0, -db / 10.0)
    return float(min(PSNR_CAP_DB, 10.0 * np.log10(PEAK**2 / mse.mean())))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of luma with an 11x11 Gaussian window, sigma 1.5 (Wang et al. 2004); exactly 1.0 when equal.

    scikit-image's `structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)`,
    whose mean leaves out the 5-px border where the window would leave the frame.
    """
    x, y = _plane(a, True), _plane(b, True)
    if min(x.shape) < _SSIM_WINDOW:
        raise InputError(f"ssim needs frames of at least {_SSIM_WINDOW}x{_SSIM_WINDOW} px, got "
                         f"{x.shape[1]}x{x.shape[0]}")
    return float(structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                       data_range=PEAK))


FULLREF_SCORES = {"psnr": psnr, "ssim": ssim}

# Scores whose clip value is `pooled_psnr` of the per-frame values (the rest are plain means).
POOLED_PSNR_SCORES = ("psnr", "lr_psnr")
