"""The source as a C2PA ingredient, read in the decode sandbox: the source is untrusted media.

c2pa parses the source to find a manifest of its own (kept, with its validation, inside the restored
file's store); that parse runs in a sandboxed worker which returns a one-ingredient archive, so a hostile
file cannot crash or exhaust the stitch task that signs the output.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mimetypes
from typing import IO, Any

from seedvr.provenance.manifest import SOURCE_INGREDIENT, SOURCE_METADATA

_CHUNK = 8 << 20

_EXTRA_TYPES = {".mkv": "video/x-matroska", ".webm": "video/webm", ".ts": "video/mp2t", ".m2ts": "video/mp2t",
                ".mts": "video/mp2t", ".mxf": "application/mxf", ".m4v": "video/x-m4v", ".avi": "video/x-msvideo"}


def media_type(url: str) -> str:
    name = url.rstrip("/").rsplit("/", 1)[-1].lower()
    ext = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    return _EXTRA_TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _digest(f: IO[bytes]) -> str:
    h = hashlib.sha256()
    while chunk := f.read(_CHUNK):
        h.update(chunk)
    f.seek(0)
    return h.hexdigest()


def ingredient_archive(url: str, definition: dict[str, Any]) -> tuple[bytes, str]:
    """The one-ingredient archive of the file at `url` and the file's sha256 (runs inside the sandbox
    worker: one streamed read for the digest, which also goes into the ingredient's metadata, then c2pa's
    own reads of the boxes it needs)."""
    import c2pa

    from seedvr.video.storage import open_input

    builder = c2pa.Builder.from_json({"claim_generator_info": [{"name": "seedvr-lakehouse", "version": "0"}]})
    with open_input(url) as src, (open(src, "rb") if isinstance(src, str) else contextlib.nullcontext(src)) as f:
        digest = _digest(f)
        meta = dict(definition.get("metadata") or {})
        meta[SOURCE_METADATA] = {**meta.get(SOURCE_METADATA, {}), "sha256": digest}
        builder.add_ingredient({**definition, "metadata": meta}, media_type(url), f)
    out = io.BytesIO()
    builder.write_ingredient_archive(SOURCE_INGREDIENT, out)
    return out.getvalue(), digest


def source_ingredient(url: str, definition: dict[str, Any], *, timeout_s: float = 120.0,
                      max_memory_mb: int | None = 2048) -> tuple[bytes, str]:
    """`ingredient_archive` in the sandbox: (archive, sha256); a hostile source fails as its own error class."""
    from seedvr.video.sandbox import run_isolated

    return run_isolated(ingredient_archive, url, definition, what=url, timeout_s=timeout_s,
                        max_memory_mb=max_memory_mb)
