"""The signing identity of the Workbench's C2PA manifests: a local test identity, made on first use.

C2PA validators want a certificate chain, not a bare key: a signer certificate (digital signature
key usage, the email-protection extended key usage, an authority key identifier) issued by a CA. So
the first use makes both, Ed25519 keys (deterministic signatures, small and fast), under the
configured folder (`provenance.identity_dir`, default `<data_dir>/provenance/identity`):

    ca.pem          the test CA's certificate: the trust anchor a reader is given
    signer.pem      the signer's certificate followed by the CA's (the chain a manifest carries)
    signer.key      the signer's private key (PKCS#8 PEM, mode 0600)

It is a test identity: anyone can make one, so a manifest it signed proves the bytes are intact and
who (which folder) signed them, not that a trusted party did. A real identity is a drop-in
replacement: put a CA-issued `signer.pem` chain, its `signer.key` and the issuer's `ca.pem` in the
folder. Keys are data, never code: the folder lives under data_dir, which git ignores.

The folder is written to a temporary sibling and renamed into place, so two processes that start
at once agree on one identity (the loser of the rename reads the winner's).
"""

from __future__ import annotations

import datetime
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

FILES = ("ca.pem", "signer.pem", "signer.key")
ORGANISATION = "AI Workbench test identity"
VALID_DAYS = 3650


@dataclass(frozen=True)
class Identity:
    folder: Path
    chain_pem: bytes  # the signer certificate, then the CA's
    key_pem: bytes
    ca_pem: bytes

    @property
    def common_name(self) -> str:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        cert = x509.load_pem_x509_certificate(self.chain_pem)
        return cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def _name(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
        ]
    )


def _key_usage(**on: bool):
    from cryptography import x509

    names = [
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ]
    return x509.KeyUsage(**{name: on.get(name, False) for name in names})


def _certificates(label: str) -> tuple[bytes, bytes, bytes]:
    """(ca.pem, signer.pem chain, signer.key) of a fresh CA and signer."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.x509.oid import ExtendedKeyUsageOID

    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    end = start + datetime.timedelta(days=VALID_DAYS)
    ca_key, key = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    ca_name = _name(f"Workbench test CA ({label})")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, None)
    )
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(f"Workbench signer ({label})"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, None)
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    ca_pem = ca.public_bytes(pem)
    return ca_pem, signer.public_bytes(pem) + ca_pem, key_pem


def _read(folder: Path) -> Identity:
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder}: signing identity incomplete, missing {missing} (expected {list(FILES)})"
        )
    ca_pem, chain, key = ((folder / name).read_bytes() for name in FILES)
    return Identity(folder=folder, chain_pem=chain, key_pem=key, ca_pem=ca_pem)


def load_or_create(folder: str | os.PathLike, label: str = "local") -> Identity:
    """The identity in `folder`, made there first if the folder does not exist yet."""
    folder = Path(folder)
    if folder.exists():
        return _read(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".identity-", dir=folder.parent))
    try:
        for name, data in zip(FILES, _certificates(label)):
            (scratch / name).write_bytes(data)
        (scratch / "signer.key").chmod(0o600)
        try:
            scratch.rename(folder)
        except OSError:  # another process made it first: use theirs
            if not folder.exists():
                raise
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return _read(folder)
