"""The source as a C2PA ingredient, read in the decode sandbox: the source is untrusted media.

c2pa parses the source to find a manifest of its own (kept, with its validation, inside the restored
file's store); that parse runs in a sandboxed worker which returns a one-ingredient archive, so a hostile
file cannot crash or exhaust the stitch task that signs the output.
"""

from __future__ import annotations

import io
import mimetypes
from typing import Any

from seedvr.provenance.manifest import SOURCE_INGREDIENT

_EXTRA_TYPES = {".mkv": "video/x-matroska", ".webm": "video/webm", ".ts": "video/mp2t", ".m2ts": "video/mp2t",
                ".mts": "video/mp2t", ".mxf": "application/mxf", ".m4v": "video/x-m4v", ".avi": "video/x-msvideo"}


def media_type(url: str) -> str:
    name = url.rstrip("/").rsplit("/", 1)[-1].lower()
    ext = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    return _EXTRA_TYPES.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def ingredient_archive(url: str, definition: dict[str, Any]) -> bytes:
    """The one-ingredient archive of the file at `url` (runs inside the sandbox worker)."""
    import c2pa

    from seedvr.video.storage import open_input

    builder = c2pa.Builder.from_json({"claim_generator_info": [{"name": "seedvr-lakehouse", "version": "0"}]})
    with open_input(url) as src:
        if isinstance(src, str):
            with open(src, "rb") as f:
                builder.add_ingredient(definition, media_type(url), f)
        else:
            builder.add_ingredient(definition, media_type(url), src)
    out = io.BytesIO()
    builder.write_ingredient_archive(SOURCE_INGREDIENT, out)
    return out.getvalue()


def source_ingredient(url: str, definition: dict[str, Any], *, timeout_s: float = 120.0,
                      max_memory_mb: int | None = 2048) -> bytes:
    """`ingredient_archive` in the sandbox; a hostile source fails as its own error class."""
    from seedvr.video.sandbox import run_isolated

    return run_isolated(ingredient_archive, url, definition, what=url, timeout_s=timeout_s,
                        max_memory_mb=max_memory_mb)
