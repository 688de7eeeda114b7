"""Certificates to and from files: PEM chains ``openssl verify -CAfile`` accepts.

A device's chain file holds its certificate, then the owner CA's (PEM, in that order, as TLS
and ``openssl verify -untrusted`` read chains); the owner CA's certificate alone is the trust
anchor a verifier is given (``-CAfile``). :func:`load_certificate` reads either encoding.
"""

import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .errors import IdentityError, Reason, RefusedError
from .profile import PARSE_ERRORS, check_signature_encoding

__all__ = ["chain_pem", "load_certificate", "read_certificate_file", "write_chain"]


def chain_pem(device: x509.Certificate, ca: x509.Certificate) -> bytes:
    """*device*'s certificate, then the owner CA's, in PEM."""
    return b"".join(
        certificate.public_bytes(serialization.Encoding.PEM) for certificate in (device, ca)
    )


def write_chain(
    path: str | os.PathLike[str], device: x509.Certificate, ca: x509.Certificate
) -> None:
    """Write :func:`chain_pem` of *device* and *ca* to *path* (replacing it: public data)."""
    try:
        Path(path).write_bytes(chain_pem(device, ca))
    except OSError as exc:
        raise IdentityError(f"cannot write the certificate chain {path}: {exc.strerror}") from None


def load_certificate(data: bytes) -> x509.Certificate:
    """The first certificate of *data* (PEM or DER); :class:`RefusedError` CORRUPT if there is none.

    ``cryptography`` parses lazily: the fields a verifier reads are read here, so a damaged
    encoding fails now, as CORRUPT, not later as something else.
    """
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            certificate = x509.load_pem_x509_certificate(data)
        else:
            certificate = x509.load_der_x509_certificate(data)
        certificate.extensions  # noqa: B018 (parse them now)
        certificate.subject  # noqa: B018
        certificate.issuer  # noqa: B018
        certificate.public_key()
        check_signature_encoding(
            certificate.public_bytes(serialization.Encoding.DER),
            certificate.signature,
            "certificate",
        )
    except PARSE_ERRORS:
        raise RefusedError(Reason.CORRUPT, "not a DER or PEM X.509 certificate") from None
    return certificate


def read_certificate_file(path: str | os.PathLike[str]) -> x509.Certificate:
    """The certificate in the file *path* (PEM or DER)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise IdentityError(f"cannot read the certificate file {path}: {exc.strerror}") from None
    return load_certificate(data)
