"""Read a file's C2PA manifest back and judge it: signature, hash binding to the bytes, what it says.

A file verifies when its manifest store validates (`Valid` or `Trusted`: the claim signature checks and
every hash assertion matches the file's bytes). Trust in the signer is reported beside it: a chain not
anchored in `trust_anchors` is `Valid` but not `Trusted`, and a test certificate is called one.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from seedvr.provenance.manifest import RESTORATION_ASSERTION
from seedvr.provenance.seal import sidecar_url
from seedvr.provenance.signing import TEST_ONLY_MARK

OK_STATES = ("Valid", "Trusted")
UNTRUSTED = "signingCredential.untrusted"


@dataclass
class Report:
    url: str
    state: str  # Valid, Trusted, Invalid, Unsigned, Unreadable
    where: str = ""  # embedded or sidecar
    label: str | None = None
    signer: str | None = None
    test_only: bool = False
    trusted: bool = False
    restoration: dict[str, Any] = field(default_factory=dict)
    disclosed: bool = False
    source_has_manifest: bool = False
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state in OK_STATES

    def lines(self) -> list[str]:
        if self.state in ("Unsigned", "Unreadable"):
            return [f"{self.url}: {self.state.upper()} - {self.failures[0] if self.failures else ''}".rstrip(" -")]
        head = f"{self.url}: {'OK' if self.ok else 'FAILED'} ({self.state}, {self.where} manifest {self.label})"
        out = [head]
        r = self.restoration
        if r:
            out.append(f"  model {r.get('model')} (preset {r.get('preset')}), weights sha256 "
                       f"{(r.get('weights_sha256') or 'unknown')[:16]}, config {r.get('config_hash')}")
            out.append(f"  run {r.get('run_id')}" + (f", job {r['job_id']}/{r.get('job_run_id')}" if r.get("job_id")
                                                     else "") + f", code {r.get('code_version')}")
            src = r.get("source") or {}
            out.append(f"  source {src.get('uri')}" + (f" (sha256 {src['sha256'][:16]})" if src.get("sha256") else "")
                       + (" with its own C2PA manifest" if self.source_has_manifest else ""))
        if self.disclosed:
            out.append(f"  disclosure: {r.get('disclosure', 'AI-generated content')}")
        signer = self.signer or "unknown signer"
        trust = "trusted signer" if self.trusted else "signer not in the trust list"
        out.append(f"  signed by {signer} ({trust})"
                   + (" - a TEST certificate, not for publication" if self.test_only else ""))
        out.extend(f"  failure: {f}" for f in self.failures)
        return out


def _failures(results: dict[str, Any] | None) -> list[str]:
    active = (results or {}).get("activeManifest") or {}
    return [f"{f.get('code')}: {f.get('explanation', '')}".strip() for f in active.get("failure", [])]


def _report(url: str, reader: Any, where: str) -> Report:
    store = json.loads(reader.json())
    label = store.get("active_manifest")
    manifest = (store.get("manifests") or {}).get(label) or {}
    state = reader.get_validation_state() or "Invalid"
    failures = _failures(reader.get_validation_results())
    # An unanchored signer is a statement about trust, not about this file: reported, not a failure.
    rep = Report(url=url, state=state, where=where, label=label,
                 failures=[f for f in failures if not f.startswith(UNTRUSTED)],
                 trusted=state == "Trusted")
    sig = manifest.get("signature_info") or {}
    rep.signer = ", ".join(x for x in (sig.get("common_name"), sig.get("issuer")) if x) or None
    for a in manifest.get("assertions", []):
        if a.get("label") == RESTORATION_ASSERTION:
            rep.restoration = a.get("data") or {}
        if a.get("label", "").startswith("c2pa.actions"):
            rep.disclosed |= any("trainedalgorithmicmedia" in (x.get("digitalSourceType") or "").lower()
                                 for x in a.get("data", {}).get("actions", []))
    rep.source_has_manifest = any(i.get("active_manifest") for i in manifest.get("ingredients", []))
    rep.test_only = TEST_ONLY_MARK in (sig.get("common_name") or "")  # a generated test certificate says so
    if state not in OK_STATES and not rep.failures:
        rep.failures = ["the manifest does not validate"]
    return rep


@contextlib.contextmanager
def _reader(url: str, context: Any = None) -> Iterator[tuple[Any, str]]:
    """(c2pa.Reader, "embedded" | "sidecar") of the file at `url`: its `.c2pa` sidecar when one is beside
    it, else its embedded manifest. c2pa's errors pass through."""
    import c2pa

    from seedvr.provenance.ingredient import media_type
    from seedvr.video.storage import exists, local_copy

    side = sidecar_url(url)
    manifest = None
    if exists(side):
        with local_copy(side) as sp, open(sp, "rb") as f:
            manifest = f.read()
    with local_copy(url) as path, open(path, "rb") as f:
        yield c2pa.Reader(media_type(url), f, manifest, context=context), "sidecar" if manifest else "embedded"


def verify(url: str, *, trust_anchors: bytes | None = None) -> Report:
    """Verify one file (local path or URL) against its `.c2pa` sidecar, else its embedded manifest."""
    import c2pa

    from seedvr.errors import SeedVRError

    context = None
    if trust_anchors:
        context = c2pa.Context.from_dict({"verify": {"verify_trust": True},
                                          "trust": {"trust_anchors": trust_anchors.decode()}})
    try:
        with _reader(url, context) as (reader, where):
            return _report(url, reader, where)
    except c2pa.C2paError as exc:
        name = type(exc).__name__
        if "ManifestNotFound" in name or "JumbfNotFound" in str(exc):
            return Report(url=url, state="Unsigned", failures=[
                "no C2PA manifest (none embedded, no .c2pa sidecar beside it)"])
        return Report(url=url, state="Invalid", failures=[f"{name.strip('_')}: {exc}"])
    except SeedVRError as exc:
        return Report(url=url, state="Unreadable", failures=[str(exc)])
    except OSError as exc:
        return Report(url=url, state="Unreadable", failures=[f"{type(exc).__name__}: {exc}"])


def stated_content(url: str) -> dict[str, Any]:
    """What the active manifest states, without what differs each time the same statement is signed: the
    manifest's label, the signature, the hard binding (`c2pa.hash.*`, whose offsets move with the signature's
    size), hashed links between assertions and the ingredients' validation results."""
    with _reader(url) as (reader, _):
        store = json.loads(reader.json())
    m = store["manifests"][store["active_manifest"]]
    assertions = [a for a in m.get("assertions", []) if not a["label"].startswith("c2pa.hash.")]
    out = {k: v for k, v in m.items() if k not in ("label", "signature_info", "assertions", "ingredients")}
    out["assertions"] = json.loads(json.dumps(assertions),
                                   object_hook=lambda d: {k: v for k, v in d.items() if not (k == "hash" and "url" in d)})
    out["ingredients"] = [{k: v for k, v in i.items() if k not in ("validation_results", "active_manifest")}
                          for i in m.get("ingredients", [])]
    return out
