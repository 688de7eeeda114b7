"""The owner CA: a P-256 key and its self-signed X.509 CA certificate, and their PEM files.

The owner of a fleet certifies its devices' public keys with this CA
(:func:`ropuf.host.identity.issue.issue_device_certificate`); a verifier holds only the CA's
certificate. The key file is PKCS #8 PEM, mode 600, optionally encrypted with a passphrase
(``BestAvailableEncryption``); the certificate file is PEM. Neither is ever overwritten.

Certificate profile: subject and issuer ``CN=<owner name>``; basic constraints CA, path length
0 (it signs device certificates only), critical; key usage keyCertSign and cRLSign, critical;
subject and authority key ids (SHA-1 of the public key, RFC 5280 method 1); ECDSA with SHA-256.
"""

import datetime
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .errors import IdentityError
from .profile import DEFAULT_CA_LIFETIME, check_device_id, utc

__all__ = ["OwnerCA", "create_owner_ca", "load_owner_ca", "write_owner_ca"]

_MAKE_ONE = "make one with 'ropuf registry new-owner-ca'"


@dataclass(frozen=True)
class OwnerCA:
    """An owner CA: its private *key* (never printed) and its self-signed *certificate*."""

    key: ec.EllipticCurvePrivateKey = field(repr=False)
    certificate: x509.Certificate

    @property
    def name(self) -> str:
        """The owner's name, the certificate's common name."""
        return _common_name(self.certificate.subject)


def _common_name(name: x509.Name) -> str:
    attributes = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(attributes[0].value) if attributes else ""


def create_owner_ca(
    name: str,
    lifetime: datetime.timedelta = DEFAULT_CA_LIFETIME,
    now: datetime.datetime | None = None,
) -> OwnerCA:
    """A fresh owner CA called *name* (1 to 64 printable characters), valid from *now* (the
    current time if None) for *lifetime*."""
    check_device_id(name, "an owner name")
    if lifetime <= datetime.timedelta(0):
        raise IdentityError("an owner CA's lifetime must be positive")
    start = utc(now).replace(microsecond=0)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return OwnerCA(key, certificate)


def _create_exclusive(path: Path, data: bytes, mode: int, what: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise IdentityError(f"{path} exists: refusing to overwrite an owner CA {what}") from None
    except OSError as exc:
        raise IdentityError(
            f"cannot write the owner CA {what} file {path}: {exc.strerror}"
        ) from None
    with os.fdopen(fd, "wb") as file:
        file.write(data)


def _passphrase_bytes(passphrase: str | bytes | None) -> bytes | None:
    if passphrase is None:
        return None
    if isinstance(passphrase, str):
        passphrase = passphrase.encode()
    if not isinstance(passphrase, bytes) or not passphrase:
        raise IdentityError("a passphrase must be a non-empty string (or give none)")
    return passphrase


def write_owner_ca(
    ca: OwnerCA,
    key_path: str | os.PathLike[str],
    certificate_path: str | os.PathLike[str],
    passphrase: str | bytes | None = None,
) -> None:
    """Write *ca*'s key to *key_path* (PKCS #8 PEM, mode 600, encrypted when a *passphrase* is
    given) and its certificate to *certificate_path* (PEM). Refuses to overwrite either file:
    nothing is written if one exists."""
    key_path, certificate_path = Path(key_path), Path(certificate_path)
    secret = _passphrase_bytes(passphrase)
    for path in (key_path, certificate_path):
        if path.exists():
            raise IdentityError(f"{path} exists: refusing to overwrite an owner CA file")
    encryption = (
        serialization.NoEncryption()
        if secret is None
        else serialization.BestAvailableEncryption(secret)
    )
    key_pem = ca.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    _create_exclusive(key_path, key_pem, 0o600, "key")
    _create_exclusive(
        certificate_path,
        ca.certificate.public_bytes(serialization.Encoding.PEM),
        0o644,
        "certificate",
    )


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise IdentityError(f"no owner CA {what} file {path} ({_MAKE_ONE})") from None
    except OSError as exc:
        raise IdentityError(
            f"cannot read the owner CA {what} file {path}: {exc.strerror}"
        ) from None


def _load_key(path: Path, secret: bytes | None) -> ec.EllipticCurvePrivateKey:
    data = _read(path, "key")
    encrypted = b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in data
    if encrypted and secret is None:
        raise IdentityError(f"{path} is encrypted: give its passphrase")
    if not encrypted and secret is not None and b"-----BEGIN" in data:
        raise IdentityError(f"{path} is not encrypted: give no passphrase")
    try:
        key = serialization.load_pem_private_key(data, password=secret)
    except (ValueError, TypeError):
        if encrypted:
            raise IdentityError(
                f"cannot decrypt {path}: wrong passphrase, or the file is damaged"
            ) from None
        raise IdentityError(
            f"{path} is not a PEM private key (damaged or another kind of file; {_MAKE_ONE})"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise IdentityError(f"{path} holds another kind of key: an owner CA key is ECDSA P-256")
    return key


def _load_certificate(path: Path) -> x509.Certificate:
    data = _read(path, "certificate")
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise IdentityError(
            f"{path} is not a PEM certificate (damaged or another kind of file; {_MAKE_ONE})"
        ) from None


def load_owner_ca(
    key_path: str | os.PathLike[str],
    certificate_path: str | os.PathLike[str],
    passphrase: str | bytes | None = None,
) -> OwnerCA:
    """The owner CA whose key is in *key_path* (decrypted with *passphrase* if it is encrypted)
    and whose certificate is in *certificate_path*.

    Raises
    ------
    IdentityError
        A file is missing, unreadable or not what it should be; the key is encrypted and no
        passphrase was given (or the passphrase is wrong); the certificate is not a
        self-signed CA certificate; or the key and the certificate are not one pair.
    """
    key_path, certificate_path = Path(key_path), Path(certificate_path)
    key = _load_key(key_path, _passphrase_bytes(passphrase))
    certificate = _load_certificate(certificate_path)
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
        is_ca = constraints.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise IdentityError(f"{certificate_path} is not a CA certificate ({_MAKE_ONE})")
    try:
        certificate.verify_directly_issued_by(certificate)
    except (ValueError, TypeError, InvalidSignature):
        raise IdentityError(
            f"{certificate_path} is not a self-signed certificate (damaged, or not an owner CA)"
        ) from None
    if certificate.public_key() != key.public_key():
        raise IdentityError(
            f"{key_path} and {certificate_path} belong to different owner CAs: "
            "give the key and the certificate written together"
        )
    return OwnerCA(key, certificate)
