"""The restore job's signing credential, checked on the driver before any task runs.

A missing or broken key is a configuration error at start-up, never a thousand failed stitches after
hours of GPU work. The tasks receive references (paths, URLs, env:NAME), never key material.
"""

from __future__ import annotations

import os

from jobs.config import JobConfig
from seedvr.errors import ConfigError
from seedvr.provenance.signing import SigningRefs, load_credential

TEST_CERTIFICATE_NOTE = ("signing outputs with a self-signed TEST certificate (for testing only; set "
                         "disclosure.signing_key and certificate_chain to publish)")


def signing_refs(cfg: JobConfig) -> SigningRefs | None:
    """None when disclosure is off; else checked references to the key and chain (`test_only` when they
    are the generated test certificate: the caller says so once there is something to sign)."""
    d = cfg.disclosure
    if not d.enabled:
        return None
    key, chain = d.signing_key, d.certificate_chain
    if bool(key) != bool(chain):
        missing = "certificate_chain" if key else "signing_key"
        raise ConfigError(f"disclosure.{missing} is not set but its pair is; give both the PEM key and its "
                          "certificate chain, or set disclosure.enabled=false")
    if not key:
        if not d.test_certificate:
            raise ConfigError("disclosure is enabled but disclosure.signing_key and certificate_chain are not set; "
                              "point them at a PEM key and chain (a path, URL or env:NAME, e.g. from a Databricks "
                              "secret scope) or set disclosure.enabled=false")
        from seedvr.provenance.test_certificate import ensure_test_chain

        key, chain = ensure_test_chain(os.path.join(cfg.storage.work_dir, "signing"))
    cred = load_credential(key, chain, timestamp_url=d.timestamp_url)
    return SigningRefs(key=key, chain=chain, timestamp_url=d.timestamp_url, test_only=cred.test_only)
