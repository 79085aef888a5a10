"""Clip restorers: the SeedVR model behind one `restore(frames, seed=..., target=...)` call, plus helpers.

`ClipRestorer` is imported lazily so that dry runs with `IdentityRestorer` do not pay for torch.
"""

from typing import TYPE_CHECKING, Any

from seedvr.restorer.factory import load_restorer
from seedvr.restorer.identity import IdentityRestorer
from seedvr.restorer.protocol import Restorer
from seedvr.restorer.seeding import derive_seed
from seedvr.restorer.target import TargetSize

if TYPE_CHECKING:
    from seedvr.restorer.clip import ClipRestorer

__all__ = ["ClipRestorer", "IdentityRestorer", "Restorer", "TargetSize", "derive_seed", "load_restorer"]


def __getattr__(name: str) -> Any:
    if name == "ClipRestorer":
        from seedvr.restorer.clip import ClipRestorer

        return ClipRestorer
    raise AttributeError(f"module 'seedvr.restorer' has no attribute {name!r}")
