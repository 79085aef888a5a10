"""seedvr-clip's signed provenance: flags, the credential checked before any work, and the sealer.

Without flags the clip is signed with a self-signed test certificate kept in the user's cache folder
(the output says so: for testing only); `--signing-key` and `--certificate-chain` (or SEEDVR_SIGNING_KEY
and SEEDVR_CERTIFICATE_CHAIN) sign for publication; `--no-disclosure` writes no manifest and no tags.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from seedvr.errors import ConfigError
from seedvr.provenance.signing import SigningRefs, load_credential

KEY_ENV, CHAIN_ENV = "SEEDVR_SIGNING_KEY", "SEEDVR_CERTIFICATE_CHAIN"


def add_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("provenance (a signed C2PA manifest in the output; a .c2pa sidecar beside .mkv)")
    g.add_argument("--signing-key", default=os.environ.get(KEY_ENV) or None, metavar="PEM",
                   help=f"private key: a path, URL or env:NAME (default ${KEY_ENV}; without one, a self-signed "
                        "test certificate, for testing only)")
    g.add_argument("--certificate-chain", default=os.environ.get(CHAIN_ENV) or None, metavar="PEM",
                   help=f"the key's certificate, then its issuers (default ${CHAIN_ENV})")
    g.add_argument("--timestamp-url", default=None, help="an RFC 3161 timestamp authority for the signature")
    g.add_argument("--no-disclosure", dest="disclosure", action="store_false",
                   help="write no manifest and no AI-content tags")


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "seedvr-lakehouse" / "signing"


def signing_refs(args: argparse.Namespace) -> SigningRefs | None:
    """Checked references to the credential (None with --no-disclosure); a ConfigError in one line."""
    if not getattr(args, "disclosure", True):
        return None
    key, chain = args.signing_key, args.certificate_chain
    if bool(key) != bool(chain):
        raise ConfigError(f"--{'certificate-chain' if key else 'signing-key'} is missing; give both the key and "
                          "its certificate chain, or neither (a test certificate), or --no-disclosure")
    if not key:
        from seedvr.provenance.test_certificate import ensure_test_chain

        key, chain = ensure_test_chain(_cache_dir())
    cred = load_credential(key, chain, timestamp_url=args.timestamp_url)
    return SigningRefs(key=key, chain=chain, timestamp_url=args.timestamp_url, test_only=cred.test_only)


def sealer(refs: SigningRefs | None, args: argparse.Namespace, preset: Any, restorer: Any,
           transforms: list[str] | tuple[str, ...] = ()) -> Any:
    """The output's Sealer (seedvr.provenance.seal), reading the source as an ingredient in the sandbox."""
    if refs is None:
        return None
    import uuid

    from seedvr import __version__
    from seedvr.provenance.facts import RestorationFacts, Source, transforms_from_applied
    from seedvr.provenance.seal import Sealer
    from seedvr.video.storage import object_size

    digests = dict((restorer.info or {}).get("weights_sha256") or {})
    weights = ";".join(f"{k}={v}" for k, v in sorted(digests.items())) or None
    facts = RestorationFacts(
        software="seedvr-lakehouse", software_version=__version__, code_version=__version__, preset=preset.name,
        model=preset.description, weights_sha256=weights, config_hash="", run_id=uuid.uuid4().hex,
        title=args.output.rstrip("/").rsplit("/", 1)[-1], source=Source(uri=args.input, size_bytes=object_size(args.input)),
        transforms=transforms_from_applied(list(transforms)), generative=not preset.is_identity)
    return Sealer.for_source(facts, refs.credential(), timeout_s=args.probe_timeout)


def summary(sealer_: Any) -> dict[str, Any]:
    rec = getattr(sealer_, "record", None)
    if rec is None:
        return {"disclosed": False}
    return {"disclosed": True, "where": "embedded" if rec.embedded else "sidecar", "sidecar": rec.sidecar_url,
            "manifest_label": rec.label, "manifest_sha256": rec.manifest_sha256, "signer": rec.signer,
            "test_certificate": rec.test_only, "sign_s": round(rec.seconds, 4)}
