"""Strict comparison of a state dict with a model: missing, unexpected and misshapen keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

Shapes = dict[str, tuple[int, ...]]


def shapes_of(state: Mapping[str, torch.Tensor]) -> Shapes:
    return {k: tuple(v.shape) for k, v in state.items()}


@dataclass(frozen=True)
class StateDictDiff:
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    mismatched: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...]  # (key, expected, found)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def describe(self, limit: int = 6) -> str:
        """A few lines per category, e.g. for a 7B preset pointed at a 3B file."""
        lines: list[str] = []
        for title, items in (("missing", self.missing), ("unexpected", self.unexpected)):
            if items:
                shown = ", ".join(items[:limit]) + (f", ... ({len(items) - limit} more)" if len(items) > limit else "")
                lines.append(f"{len(items)} {title} key(s): {shown}")
        if self.mismatched:
            shown = "; ".join(f"{k}: expected {list(e)}, found {list(f)}" for k, e, f in self.mismatched[:limit])
            more = f"; ... ({len(self.mismatched) - limit} more)" if len(self.mismatched) > limit else ""
            lines.append(f"{len(self.mismatched)} shape mismatch(es): {shown}{more}")
        return "\n".join(lines) if lines else "state dicts match"


def diff_shapes(expected: Mapping[str, tuple[int, ...]], found: Mapping[str, tuple[int, ...]]) -> StateDictDiff:
    missing = tuple(sorted(set(expected) - set(found)))
    unexpected = tuple(sorted(set(found) - set(expected)))
    mismatched = tuple(
        (k, tuple(expected[k]), tuple(found[k]))
        for k in sorted(set(expected) & set(found))
        if tuple(expected[k]) != tuple(found[k])
    )
    return StateDictDiff(missing, unexpected, mismatched)
