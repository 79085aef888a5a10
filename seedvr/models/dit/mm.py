"""Per-stream weights: separate `.vid` / `.txt` modules, or one `.all` module shared by both streams."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


class MMPair(nn.Module):
    """`shared=True` -> `.all`; else `.vid` and `.txt` (no `.txt` when `vid_only`)."""

    def __init__(self, make: Callable[[], nn.Module], *, shared: bool, vid_only: bool = False) -> None:
        super().__init__()
        self.vid_only = vid_only
        if shared:
            self.all = make()
        else:
            self.vid = make()
            if not vid_only:
                self.txt = make()

    def stream(self, name: str) -> nn.Module | None:
        """The module for stream 'vid' or 'txt' (None for text of a vid-only pair)."""
        if name == "txt" and self.vid_only:
            return None
        return self.all if hasattr(self, "all") else getattr(self, name)
