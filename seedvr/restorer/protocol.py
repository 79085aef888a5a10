"""The one interface the pipeline needs from a restorer, so dry runs can swap the model out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from seedvr.restorer.target import TargetSize


@runtime_checkable
class Restorer(Protocol):
    """Restores one clip; `info` is provenance written next to every result."""

    @property
    def info(self) -> Mapping[str, Any]: ...

    def restore(self, frames: np.ndarray, *, seed: int, target: TargetSize | None = None) -> np.ndarray:
        """(T, H, W, 3) uint8 or uint16 in, the same dtype and exactly T frames out."""
        ...
