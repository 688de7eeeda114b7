"""The owner's Ed25519 signing key: who vouches for the enrollment records in a registry.

Enrollment signs each record with the owner's private key (:meth:`Registry.enroll
<ropuf.host.registry.Registry.enroll>`); every later load verifies the signature with the
public key stored in the record. The private key lives in a PEM file (PKCS #8, mode 600)
outside the registry; only a host that enrols needs it, a verifier never does.
"""

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .registry import RegistryError

__all__ = ["OWNER_KEY_ENV", "load_owner_key", "write_owner_key"]

#: Environment variable naming the owner key file, if no file is given.
OWNER_KEY_ENV = "ROPUF_OWNER_KEY"


def write_owner_key(path: str | os.PathLike[str]) -> bytes:
    """Write a fresh Ed25519 owner key to *path* (PEM, mode 600); returns its public key.

    Raises
    ------
    RegistryError
        *path* exists (an owner key is never overwritten) or cannot be written.
    """
    path = Path(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise RegistryError(f"{path} exists: refusing to overwrite an owner key") from None
    except OSError as exc:
        raise RegistryError(f"cannot write the owner key file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as file:
        file.write(pem)
    return key.public_key().public_bytes_raw()


def load_owner_key(path: str | os.PathLike[str] | None = None) -> Ed25519PrivateKey:
    """The owner's signing key from *path* or the file named by ``$ROPUF_OWNER_KEY``.

    Raises
    ------
    RegistryError
        No file given, the file is unreadable, or it is not an unencrypted Ed25519 private key
        in PEM. The message never contains key material.
    """
    if path is None:
        path = os.environ.get(OWNER_KEY_ENV)
        if not path:
            raise RegistryError(
                f"no owner key: give --owner-key FILE or set {OWNER_KEY_ENV} "
                "(make one with 'ropuf registry new-owner-key FILE')"
            )
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RegistryError(f"cannot read the owner key file {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise RegistryError(
            f"{path} is not an unencrypted Ed25519 private key in PEM "
            "(make one with 'ropuf registry new-owner-key FILE')"
        )
    return key
