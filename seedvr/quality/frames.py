"""Shared checks and conversions: every score works on the same validated frames and the same luma."""

from __future__ import annotations

import cv2
import numpy as np

from seedvr.errors import InputError

# BT.601 luma, as SR papers (BasicSR's test_y_channel) compute PSNR/SSIM on Y; kept in [0, 255].
_Y601 = np.array([[0.299, 0.587, 0.114]], np.float32)


def check_clip(frames: np.ndarray, name: str = "frames") -> np.ndarray:
    """(T, H, W, 3) uint8 or uint16; uint16 is brought to the 0-255 scale as float32 so scores compare."""
    if not isinstance(frames, np.ndarray) or frames.ndim != 4 or frames.shape[-1] != 3:
        shape = getattr(frames, "shape", None)
        raise InputError(f"{name} must be a (T, H, W, 3) array, got shape {shape}")
    if frames.shape[0] < 1:
        raise InputError(f"{name} has no frames")
    if frames.dtype == np.uint8:
        return frames
    if frames.dtype == np.uint16:
        return (frames.astype(np.float32) / 257.0).astype(np.float32)
    raise InputError(f"{name} must be uint8 or uint16, got {frames.dtype}")


def luma(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (H, W) float32 Y in [0, 255] (cv2.transform: about twice as fast as a numpy matmul)."""
    x = frame if frame.dtype == np.float32 else frame.astype(np.float32)
    return cv2.transform(x, _Y601)


def same_size(a: np.ndarray, b: np.ndarray, what: str) -> None:
    """Full-reference scores compare pixels one to one: a size mismatch is an input error, never a resize."""
    if a.shape[1:3] != b.shape[1:3]:
        raise InputError(
            f"{what}: restored frames are {a.shape[2]}x{a.shape[1]} but the reference is "
            f"{b.shape[2]}x{b.shape[1]}; restore to the reference size (TargetSize) or pass a reference of the "
            "output size"
        )
