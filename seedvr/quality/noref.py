"""No-reference per-frame scores: cheap signal measures with no weights (research notes 3c).

They describe a frame, not its quality: a restored frame should be sharper, less noisy and less blocky
than its input, and comparing these numbers before and after says whether it is.
"""

from __future__ import annotations

import cv2
import numpy as np

from seedvr.quality.frames import luma

# Immerkaer's noise kernel: the difference of two Laplacians cancels image structure up to second order;
# its squared norm is 36, so white noise of sigma s gives responses of standard deviation 6 s.
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def sharpness(frame: np.ndarray) -> float:
    """Variance of the Laplacian of luma: high for crisp detail, low after blur (and inflated by noise)."""
    return sharpness_of_luma(luma(frame))


def sharpness_of_luma(y: np.ndarray) -> float:
    """`sharpness` of a frame whose luma (`seedvr.quality.frames.luma`) is `y`."""
    return float(cv2.Laplacian(y, cv2.CV_32F).var())


def noise_sigma(frame: np.ndarray) -> float:
    """Noise standard deviation (0-255 units) from the median absolute high-pass response.

    The median ignores the minority of pixels on edges, so textured frames are not read as noisy. Blur and
    compression remove high-frequency noise too, so a low value is not proof of a clean frame.
    """
    return noise_sigma_of_luma(luma(frame))


def noise_sigma_of_luma(y: np.ndarray) -> float:
    """`noise_sigma` of a frame whose luma is `y`."""
    r = cv2.filter2D(y, cv2.CV_32F, _NOISE_KERNEL, borderType=cv2.BORDER_REFLECT)[1:-1, 1:-1]
    # The absolute values are a temporary of our own: the median may partition them in place (same value,
    # no copy of a frame-sized array).
    return float(np.median(np.abs(r), overwrite_input=True) / 0.6745 / 6.0)


def blockiness(frame: np.ndarray, block: int = 8) -> float:
    """Mean |gradient| across `block`-pixel boundaries divided by the mean elsewhere: ~1 clean, >1.3 blocky.

    Codec blocks sit on a fixed grid from the top-left corner, which is why the grid is not searched.
    """
    return blockiness_of_luma(luma(frame), block)


def blockiness_of_luma(y: np.ndarray, block: int = 8) -> float:
    """`blockiness` of a frame whose luma is `y`."""
    ratios = []
    for d in (np.abs(np.diff(y, axis=1)), np.abs(np.diff(y, axis=0)).T):
        n = d.shape[1]
        if n < 2 * block:
            continue
        on = np.zeros(n, bool)
        on[block - 1 :: block] = True
        inside = float(d[:, ~on].mean())
        ratios.append(float(d[:, on].mean()) / max(inside, 1e-3))
    return float(np.mean(ratios)) if ratios else float("nan")


NOREF_SCORES = {"sharpness": sharpness, "noise_sigma": noise_sigma, "blockiness": blockiness}
# The same scores from a frame's luma, for callers that score one frame several ways and compute it once.
NOREF_LUMA_SCORES = {"sharpness": sharpness_of_luma, "noise_sigma": noise_sigma_of_luma,
                     "blockiness": blockiness_of_luma}
