"""Sign a finished output before it is committed: embedded in MP4/MOV, a `.c2pa` sidecar otherwise.

Called by the encoder on the temporary file, inside its atomic write: the manifest's hash binds the
final bytes, and a file never appears at its key unsigned. A sidecar is written before its output, so an
output that exists always has its sidecar.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from seedvr.errors import ConfigError
from seedvr.provenance.facts import RestorationFacts
from seedvr.provenance.manifest import ingredient_definition, manifest_definition
from seedvr.provenance.signing import Credential

# Muxer name -> the media type c2pa embeds into. Matroska and WebM have no C2PA binding: sidecar.
EMBEDDABLE = {"mp4": "video/mp4", "mov": "video/quicktime"}
SIDECAR_SUFFIX = ".c2pa"


@dataclass(frozen=True)
class SealRecord:
    label: str
    manifest_sha256: str
    embedded: bool
    sidecar_url: str | None
    test_only: bool
    signer: str
    seconds: float


def sidecar_url(output_url: str) -> str:
    return output_url + SIDECAR_SUFFIX


class Sealer:
    """`sealer(tmp_path, muxer, output_url)` signs the file at `tmp_path` in place; `.record` says how."""

    def __init__(self, facts: RestorationFacts, credential: Credential, ingredient: bytes | None = None,
                 tags: Mapping[str, str] | None = None) -> None:
        self.facts = facts
        self.credential = credential
        self.ingredient = ingredient
        self.tags = dict(tags) if tags else None  # the plain container tags the encoder writes beside it
        self.record: SealRecord | None = None

    @classmethod
    def for_source(cls, facts: RestorationFacts, credential: Credential, *, timeout_s: float = 120.0,
                   max_memory_mb: int | None = 2048) -> Sealer:
        """The sealer of a restoration of `facts.source`: the source read once in the sandbox for its
        ingredient and sha256 (which both the ingredient and the facts then carry), plus the plain tags."""
        from dataclasses import replace

        from seedvr.provenance.ingredient import source_ingredient
        from seedvr.provenance.tags import container_tags

        archive, digest = source_ingredient(facts.source.uri, ingredient_definition(facts), timeout_s=timeout_s,
                                            max_memory_mb=max_memory_mb)
        facts = replace(facts, source=replace(facts.source, sha256=digest))
        return cls(facts, credential, archive, tags=container_tags(facts))

    def _builder(self):  # noqa: ANN202 - c2pa.Builder
        import c2pa

        builder = c2pa.Builder.from_json(manifest_definition(self.facts))
        if self.ingredient:
            builder.add_ingredient_from_archive(io.BytesIO(self.ingredient))
        else:  # the source's bytes were not readable as media here: its identity still goes in
            builder.add_ingredient(ingredient_definition(self.facts), "application/octet-stream", io.BytesIO(b""))
        return builder

    def __call__(self, tmp_path: str, muxer: str, output_url: str) -> SealRecord:
        import c2pa

        from seedvr.video.storage import atomic_write

        t0 = time.perf_counter()
        builder = self._builder()
        embed = muxer in EMBEDDABLE
        if not embed:
            builder.set_no_embed()
        media = EMBEDDABLE.get(muxer) or ("video/x-matroska" if muxer == "matroska" else f"video/{muxer}")
        signed = f"{tmp_path}.signed"
        try:
            with open(tmp_path, "rb") as src, open(signed, "w+b") as dst:
                manifest = builder.sign(self.credential.signer(), media, src, dst)
            if embed:
                os.replace(signed, tmp_path)
        except c2pa.C2paError as exc:
            raise ConfigError(f"{output_url}: signing the C2PA manifest failed ({exc}); check "
                              "disclosure.signing_key and certificate_chain, or set disclosure.enabled=false") from exc
        finally:
            if os.path.exists(signed):
                os.remove(signed)
        side = None if embed else sidecar_url(output_url)
        if side is not None:
            with atomic_write(side, suffix=SIDECAR_SUFFIX) as tmp, open(tmp, "wb") as f:
                f.write(manifest)
        label = c2pa.Reader("application/c2pa", io.BytesIO(manifest)).get_active_manifest()["label"]
        self.record = SealRecord(label=label, manifest_sha256=hashlib.sha256(manifest).hexdigest(),
                                 embedded=side is None, sidecar_url=side, test_only=self.credential.test_only,
                                 signer=self.credential.subject, seconds=time.perf_counter() - t0)
        return self.record
