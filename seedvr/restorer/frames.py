"""Frame-array validation and resizing shared by every restorer."""

from __future__ import annotations

import cv2
import numpy as np

from seedvr.errors import InputError

SUPPORTED_DTYPES = (np.uint8, np.uint16)


def validate_frames(frames: object) -> np.ndarray:
    """Check a clip is a non-empty (T, H, W, 3) uint8/uint16 array; raise InputError naming the fix."""
    if not isinstance(frames, np.ndarray):
        raise InputError(
            f"frames must be a numpy array of shape (T, H, W, 3), got {type(frames).__name__}; "
            "convert with np.asarray(...)"
        )
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise InputError(
            f"frames must have shape (T, H, W, 3) RGB, got {frames.shape}; add a time axis for a single "
            "image (frames[None]) and drop alpha channels (frames[..., :3])"
        )
    if frames.dtype not in SUPPORTED_DTYPES:
        raise InputError(
            f"frames must be uint8 or uint16, got {frames.dtype}; scale floats to 0..255 or 0..65535 "
            "and cast first"
        )
    if frames.shape[0] == 0:
        raise InputError("frames has zero frames (T=0); pass at least one frame")
    if frames.shape[1] < 1 or frames.shape[2] < 1:
        raise InputError(f"frames has an empty spatial size {frames.shape[1]}x{frames.shape[2]}")
    return frames


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bicubic upscale, area (antialiased) downscale; the dtype is kept."""
    t, h, w, _ = frames.shape
    if (h, w) == (height, width):
        return frames.copy()
    shrinking = height * width < h * w
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    out = np.empty((t, height, width, 3), dtype=frames.dtype)
    for i in range(t):
        out[i] = cv2.resize(frames[i], (width, height), interpolation=interp)
    return out
