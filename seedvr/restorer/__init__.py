"""Clip restorers: the SeedVR model behind one `restore(frames, seed=..., target=...)` call, plus helpers."""

from seedvr.restorer.identity import IdentityRestorer
from seedvr.restorer.protocol import Restorer
from seedvr.restorer.seeding import derive_seed
from seedvr.restorer.target import TargetSize

__all__ = ["IdentityRestorer", "Restorer", "TargetSize", "derive_seed"]
