"""A self-signed certificate chain for the demo and the tests: for testing only, never for publication.

A test CA issues an end-entity P-256 certificate with the extensions C2PA validators expect of a signer
(digitalSignature, emailProtection, not a CA). Its subject carries `FOR TESTING ONLY`, which the
verification report repeats, so a file signed with it is never mistaken for a published one.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from seedvr.provenance.signing import TEST_ONLY_MARK

KEY_FILE = "test-signer.key.pem"
CHAIN_FILE = "test-signer.chain.pem"


def _name(common_name: str):  # noqa: ANN202 - x509.Name
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "seedvr-lakehouse"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, TEST_ONLY_MARK),
    ])


def _usage(*, signer: bool):  # noqa: ANN202 - x509.KeyUsage
    from cryptography import x509

    return x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=not signer,
                         crl_sign=not signer, encipher_only=False, decipher_only=False)


def make_test_chain(days: int = 365) -> tuple[bytes, bytes]:
    """(key PEM, chain PEM: signer then CA) of a fresh test CA and signer."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = dt.datetime.now(dt.timezone.utc)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=days)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("seedvr-lakehouse test CA")).issuer_name(
        _name("seedvr-lakehouse test CA")).public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(signer=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256()))
    # The mark in the signer's own name too: a manifest's signature info carries the common name.
    leaf = (x509.CertificateBuilder().subject_name(_name(f"seedvr-lakehouse test signer ({TEST_ONLY_MARK})"))
            .issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(signer=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return key_pem, leaf.public_bytes(pem) + ca.public_bytes(pem)


def ensure_test_chain(folder: str | os.PathLike[str]) -> tuple[str, str]:
    """Paths of the test key and chain in `folder`, generated once (kept while they stay valid, so that
    a resumed run signs with the same test signer)."""
    from seedvr.errors import ConfigError
    from seedvr.provenance.signing import load_credential

    d = Path(folder)
    key_path, chain_path = d / KEY_FILE, d / CHAIN_FILE
    if key_path.is_file() and chain_path.is_file():
        try:
            load_credential(str(key_path), str(chain_path))
            return str(key_path), str(chain_path)
        except ConfigError:
            pass  # expired or damaged: make a new one
    d.mkdir(parents=True, exist_ok=True)
    key_pem, chain_pem = make_test_chain()
    for path, data, mode in ((key_path, key_pem, 0o600), (chain_path, chain_pem, 0o644)):
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    return str(key_path), str(chain_path)


def main(argv: list[str] | None = None) -> int:
    """`python -m seedvr.provenance.test_certificate FOLDER`: write a test key and chain (for a dev scope)."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m seedvr.provenance.test_certificate",
                                description="Write a self-signed test signing key and chain (for testing only).")
    p.add_argument("folder")
    key, chain = ensure_test_chain(p.parse_args(argv).folder)
    print(f"{key}\n{chain}\nfor testing only: files signed with it say so")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
