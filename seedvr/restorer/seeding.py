"""Per-segment seeds that are identical on every process and machine.

Python's `hash()` is salted per process, so a retried Spark task would draw different noise; a keyed
blake2b digest gives the same 63-bit seed everywhere, and neighbouring segments get unrelated seeds.
"""

from __future__ import annotations

import hashlib

from seedvr.errors import InputError

_SEED_BITS = 63  # non-negative and accepted by torch.Generator.manual_seed and numpy alike


def derive_seed(video_id: str, segment_index: int, seed: int) -> int:
    """Return a stable seed in [0, 2**63) for one segment of one video under a run-level `seed`."""
    if not isinstance(video_id, str):
        raise InputError(f"video_id must be a str, got {type(video_id).__name__}; pass the catalog id as text")
    if isinstance(segment_index, bool) or not isinstance(segment_index, int) or segment_index < 0:
        raise InputError(f"segment_index must be a non-negative int, got {segment_index!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"seed must be an int, got {seed!r}")
    message = f"{video_id}\x1f{segment_index}\x1f{seed}".encode()
    digest = hashlib.blake2b(message, digest_size=8, person=b"seedvr-seg").digest()
    return int.from_bytes(digest, "big") >> (64 - _SEED_BITS)
