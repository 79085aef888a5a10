"""Which clips to evaluate: LQ/HQ folders matched by file name, or catalog rows with a reference URI."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seedvr.errors import ConfigError

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v")


@dataclass(frozen=True)
class EvalPair:
    """One clip to restore and score; `hq_uri` is None when no ground truth exists (no-reference only)."""

    video_id: str
    lq_uri: str
    hq_uri: str | None = None
    content_class: str = "unknown"


def pairs_from_folders(lq_dir: str | os.PathLike[str], hq_dir: str | os.PathLike[str] | None) -> list[EvalPair]:
    """Every video in `lq_dir`, matched to the file of the same stem in `hq_dir` (any video extension).

    A low-quality file without a match is still evaluated (no-reference scores); a match is never guessed.
    """
    lq_root = Path(lq_dir)
    if not lq_root.is_dir():
        raise ConfigError(f"--lq {str(lq_dir)!r} is not a folder; pass the folder of low-quality clips")
    hq_by_stem: dict[str, Path] = {}
    if hq_dir is not None:
        hq_root = Path(hq_dir)
        if not hq_root.is_dir():
            raise ConfigError(f"--hq {str(hq_dir)!r} is not a folder; pass the folder of ground-truth clips")
        hq_by_stem = {p.stem: p for p in sorted(hq_root.iterdir()) if p.suffix.lower() in VIDEO_EXTENSIONS}
    pairs = [
        EvalPair(p.stem, str(p), str(hq_by_stem[p.stem]) if p.stem in hq_by_stem else None)
        for p in sorted(lq_root.iterdir())
        if p.suffix.lower() in VIDEO_EXTENSIONS
    ]
    if not pairs:
        raise ConfigError(f"no videos ({', '.join(VIDEO_EXTENSIONS)}) in {str(lq_dir)!r}")
    return pairs


def pairs_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[EvalPair]:
    """Catalog rows: `uri` or `path`, optional `hq_uri`/`hq_path`/`reference_uri`, `video_id`, `content_class`."""
    pairs = []
    for i, r in enumerate(rows):
        uri = r.get("uri") or r.get("path")
        if not uri:
            raise ConfigError(f"catalog row {i} has no 'uri' or 'path': {dict(r)}")
        ref = r.get("hq_uri") or r.get("hq_path") or r.get("reference_uri")
        vid = str(r.get("video_id") or Path(str(uri)).stem)
        pairs.append(EvalPair(vid, str(uri), str(ref) if ref else None, str(r.get("content_class") or "unknown")))
    if len({p.video_id for p in pairs}) != len(pairs):
        raise ConfigError("catalog rows repeat a video_id; give each row a unique video_id")
    return pairs


def pairs_from_catalog_file(path: str | os.PathLike[str]) -> list[EvalPair]:
    """A JSON list of rows (as `make_sample_catalog` writes) or JSON lines."""
    text = Path(path).read_text(encoding="utf-8")
    try:
        doc = json.loads(text)
        rows = doc if isinstance(doc, list) else [doc]
    except json.JSONDecodeError:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return pairs_from_rows(rows)
