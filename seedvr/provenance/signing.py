"""The signing credential: a PEM private key and its certificate chain, checked before any work starts.

Both come from a reference: a local path, a URL any fsspec store serves (s3://, abfss://, /Volumes/...),
or `env:NAME`, an environment variable holding the PEM text itself (how a Databricks secret reaches the
executors: `spark_env_vars: {NAME: "{{secrets/<scope>/<key>}}"}`). The job passes references, never the
key material, so nothing secret travels in a task closure or reaches a log.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass

from seedvr.errors import ConfigError

ENV_PREFIX = "env:"
# The organisational unit a generated test certificate carries; verification reports it.
TEST_ONLY_MARK = "FOR TESTING ONLY"


@dataclass(frozen=True)
class Credential:
    """Key and chain as PEM bytes (leaf first), the C2PA algorithm name, and what the report shows."""

    key_pem: bytes
    chain_pem: bytes
    alg: str
    subject: str
    not_after: dt.datetime
    test_only: bool
    timestamp_url: str | None = None

    def signer(self):  # noqa: ANN201 - c2pa.Signer; c2pa is imported lazily
        import c2pa

        info = c2pa.C2paSignerInfo(self.alg.encode(), self.chain_pem, self.key_pem,
                                   self.timestamp_url.encode() if self.timestamp_url else None)
        return c2pa.Signer.from_info(info)

    def __repr__(self) -> str:  # never the key
        return f"Credential(subject={self.subject!r}, alg={self.alg}, test_only={self.test_only})"


@dataclass(frozen=True)
class SigningRefs:
    """Where the credential is, not what it is: what travels to the tasks that sign."""

    key: str
    chain: str
    timestamp_url: str | None = None
    test_only: bool = False

    def credential(self) -> Credential:
        return cached_credential(self.key, self.chain, self.timestamp_url)


def read_reference(ref: str, what: str) -> bytes:
    """The bytes a path, URL or `env:NAME` reference names; a one-line ConfigError naming `what`."""
    if ref.startswith(ENV_PREFIX):
        name = ref[len(ENV_PREFIX):]
        value = os.environ.get(name)
        if not value:
            raise ConfigError(f"{what}: environment variable {name} is not set or empty; set it to the PEM text "
                              "(on Databricks, a {{{{secrets/<scope>/<key>}}}} reference in the cluster's env vars)")
        return value.encode()
    from seedvr.video.storage import filesystem, local_path

    try:
        path = local_path(ref)
        if path is not None:
            with open(path, "rb") as f:
                return f.read()
        fs, rpath = filesystem(ref)
        with fs.open(rpath, "rb") as f:
            return f.read()
    except Exception as exc:  # noqa: BLE001 - any read failure is a wrong reference
        raise ConfigError(f"{what}: cannot read {ref!r} ({type(exc).__name__}: {exc}); point it at a readable "
                          "PEM file, URL or env:NAME") from None


def _algorithm(key: object, ref: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(key.curve.name)
        if alg:
            return alg
        raise ConfigError(f"signing key {ref!r}: curve {key.curve.name} is not one C2PA signs with; use P-256, "
                          "P-384 or P-521")
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise ConfigError(f"signing key {ref!r}: {type(key).__name__} keys cannot sign C2PA manifests; use an EC "
                      "(P-256/384/521), RSA or Ed25519 key")


def load_credential(key_ref: str, chain_ref: str, *, timestamp_url: str | None = None,
                    now: dt.datetime | None = None) -> Credential:
    """Read and check the key and chain: both parse, the key is the leaf's, the leaf is in its validity
    period and is not a CA. Every failure is a one-line ConfigError naming the reference and the fix."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import NameOID

    key_pem = read_reference(key_ref, "disclosure.signing_key")
    chain_pem = read_reference(chain_ref, "disclosure.certificate_chain")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"signing key {_shown(key_ref)}: not an unencrypted PEM private key ({exc}); export it "
                          "as PKCS#8 PEM without a passphrase") from None
    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
    except ValueError as exc:
        raise ConfigError(f"certificate chain {_shown(chain_ref)}: not PEM certificates ({exc}); give the "
                          "signing certificate first, then its issuers") from None
    leaf = certs[0]
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if leaf.public_key().public_bytes(enc, pub) != key.public_key().public_bytes(enc, pub):
        raise ConfigError(f"signing key {_shown(key_ref)} does not belong to the first certificate of "
                          f"{_shown(chain_ref)}; put the signing certificate first in the chain")
    now = now or dt.datetime.now(dt.timezone.utc)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise ConfigError(f"certificate chain {_shown(chain_ref)}: the signing certificate is valid from "
                          f"{leaf.not_valid_before_utc:%Y-%m-%d} to {leaf.not_valid_after_utc:%Y-%m-%d}, not now; "
                          "renew it")
    try:
        if leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            raise ConfigError(f"certificate chain {_shown(chain_ref)}: the first certificate is a CA; C2PA signs "
                              "with an end-entity certificate issued by it")
    except x509.ExtensionNotFound:
        pass
    subject = leaf.subject.rfc4514_string()
    units = [a.value for a in leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    return Credential(key_pem=key_pem, chain_pem=chain_pem, alg=_algorithm(key, _shown(key_ref)), subject=subject,
                      not_after=leaf.not_valid_after_utc, test_only=TEST_ONLY_MARK in units,
                      timestamp_url=timestamp_url)


@functools.lru_cache(maxsize=4)
def cached_credential(key_ref: str, chain_ref: str, timestamp_url: str | None = None) -> Credential:
    """One read per executor process and reference (stitch tasks sign many files with one credential)."""
    return load_credential(key_ref, chain_ref, timestamp_url=timestamp_url)


def _shown(ref: str) -> str:
    return repr(ref) if not ref.startswith(ENV_PREFIX) else f"from {ref}"
