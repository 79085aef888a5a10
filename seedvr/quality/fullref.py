"""Full-reference scores against a ground truth: PSNR and SSIM on BT.601 luma (the SR papers' convention)."""

from __future__ import annotations

import cv2
import numpy as np

from seedvr.quality.frames import luma

# Identical frames have infinite PSNR; a finite cap keeps means, Delta columns and MLflow metrics usable.
PSNR_CAP_DB = 100.0
_SSIM_PAD = 5  # (11 - 1) // 2


def psnr(a: np.ndarray, b: np.ndarray, *, on_luma: bool = True) -> float:
    """PSNR in dB (peak 255) of two equally sized frames; capped at `PSNR_CAP_DB` for identical frames."""
    x = luma(a) if on_luma else a.astype(np.float32)
    y = luma(b) if on_luma else b.astype(np.float32)
    mse = float(np.mean((x.astype(np.float64) - y) ** 2))
    if mse <= 0:
        return PSNR_CAP_DB
    return float(min(PSNR_CAP_DB, 10.0 * np.log10(255.0**2 / mse)))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of luma with an 11x11 Gaussian window, sigma 1.5 (Wang et al. 2004); exactly 1.0 when equal.

    The mean leaves out a 5-px border (where the window would leave the frame), as scikit-image's
    `structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)` does, so the
    two agree; frames smaller than 11 px on a side are averaged whole.
    """
    x, y = luma(a).astype(np.float64), luma(b).astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    ssim_map = num / den
    if min(ssim_map.shape) > 2 * _SSIM_PAD:
        ssim_map = ssim_map[_SSIM_PAD:-_SSIM_PAD, _SSIM_PAD:-_SSIM_PAD]
    return float(np.mean(ssim_map))


FULLREF_SCORES = {"psnr": psnr, "ssim": ssim}
