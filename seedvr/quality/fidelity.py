"""Fidelity to the low-quality input (research notes 3f): a guard against drift, not a quality score.

The restored frame is shrunk to the input size and compared with it. A colour shift or a misaligned frame
drops the value sharply; a perfect restoration of a noisy input scores *lower* than doing nothing, so read
it per video and as a relative drop, never as "higher is better" across restorers.
"""

from __future__ import annotations

import cv2
import numpy as np

from seedvr.quality.fullref import psnr


def downscale_to(restored: np.ndarray, lq: np.ndarray) -> np.ndarray:
    """The restored frame area-averaged (OpenCV INTER_AREA) to the input's size, in float32, not rounded.

    Shrinking to the input size is this metric's definition, hence the only resize in the scores. At an
    integer scale it is the plain mean of each s x s block (scikit-image's `downscale_local_mean`); it is
    kept in floating point so that no 8-bit rounding enters the comparison.
    """
    h, w = lq.shape[:2]
    x = restored.astype(np.float32)
    if restored.shape[:2] == (h, w):
        return x
    return cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA)


def lr_psnr(restored: np.ndarray, lq: np.ndarray) -> float:
    """PSNR (RGB, dB, peak 255) of the restored frame downscaled to the input size (`downscale_to`),
    against the input: `seedvr.quality.fullref.psnr`, i.e. scikit-image's."""
    return lr_psnr_of_downscaled(downscale_to(restored, lq), lq)


def lr_psnr_of_downscaled(down: np.ndarray, lq: np.ndarray) -> float:
    """`lr_psnr` from the restored frame already downscaled (`downscale_to(restored, lq)`)."""
    return psnr(down, lq, on_luma=False)


def lr_delta_e(restored: np.ndarray, lq: np.ndarray) -> float:
    """Distance (CIE76, Lab) between the mean colours of the downscaled output and the input: colour drift."""
    return lr_delta_e_of_downscaled(downscale_to(restored, lq), lq)


def lr_delta_e_of_downscaled(down: np.ndarray, lq: np.ndarray) -> float:
    """`lr_delta_e` from the restored frame already downscaled."""
    def mean_lab(img: np.ndarray) -> np.ndarray:
        lab = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
        return lab.reshape(-1, 3).mean(axis=0)

    return float(np.linalg.norm(mean_lab(down) - mean_lab(lq)))


FIDELITY_SCORES = {"lr_psnr": lr_psnr, "lr_delta_e": lr_delta_e}
# The same scores from the downscaled output, which both share (a frame-sized resize, done once).
FIDELITY_DOWNSCALED_SCORES = {"lr_psnr": lr_psnr_of_downscaled, "lr_delta_e": lr_delta_e_of_downscaled}
