"""A registry's certificates as a folder a verifier holding no secret attests with.

``ropuf registry export --certs DIR`` (:func:`export_certificates`) writes, all public:

* ``<device id>.pem``: the device's certificate (its live one, else its latest, revoked), then
  its owner CA's: ``openssl verify -CAfile owner-ca-....pem <device id>.pem`` accepts it;
* ``<device id>.helper``: the device's helper data (the device signs SHA-256 of it with each
  nonce, and needs it to reconstruct its key);
* ``owner-ca-<16 hex digits of its fingerprint>.pem``: each owner CA named by a certificate;
* ``revoked.json``: the revocation list, ``{"serials": [hex], "fingerprints": [hex]}``.

:class:`CertificateDirectory` reads it back as a verifier's evidence
(:class:`ropuf.host.signature_attestation.SignatureVerifier`). Which owner CA to trust is the
verifier's choice, given apart from the folder.
"""

import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from .identity import IdentityError, Revocations, fingerprint, read_certificate_file, write_chain
from .registry import Registry
from .signature_attestation import DeviceEvidence

__all__ = ["REVOKED_FILE", "CertificateDirectory", "export_certificates"]

#: The revocation list's file in an export folder.
REVOKED_FILE = "revoked.json"


def _file_stem(device_id: str) -> str:
    """*device_id* as a file name's stem; IdentityError for a name that cannot be one."""
    if (
        not device_id
        or device_id.startswith(".")
        or any(c in device_id for c in "/\\\0")
        or device_id.startswith("owner-ca-")
        or device_id == "revoked"
    ):
        raise IdentityError(
            f"device id {device_id!r} cannot name a file of a certificate export (no '/', '\\', "
            "leading '.', 'owner-ca-' prefix or 'revoked'): rename the device"
        )
    return device_id


def export_certificates(registry: Registry, folder: str | os.PathLike[str]) -> list[str]:
    """Write *registry*'s certificates into *folder* (created if missing; see the module
    notes); returns the device ids written. Devices without a certificate are left out."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IdentityError(f"cannot make the folder {folder}: {exc.strerror}") from None
    written = []
    cas = {}
    for device_id in registry.devices():
        stored = registry.certificate(device_id)
        if stored is None:
            continue
        stem = _file_stem(device_id)
        write_chain(folder / f"{stem}.pem", stored.certificate, stored.ca)
        _write(folder / f"{stem}.helper", registry.record(device_id).helper_data)
        cas[fingerprint(stored.ca)] = stored.ca
        written.append(device_id)
    for print_, ca in cas.items():
        _write(
            folder / f"owner-ca-{print_.hex()[:16]}.pem",
            ca.public_bytes(serialization.Encoding.PEM),
        )
    revocations = registry.certificate_revocations()
    document = {
        "serials": sorted(f"{serial:x}" for serial in revocations.serials),
        "fingerprints": sorted(value.hex() for value in revocations.fingerprints),
    }
    _write(folder / REVOKED_FILE, (json.dumps(document, indent=2) + "\n").encode())
    return written


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise IdentityError(f"cannot write {path}: {exc.strerror}") from None


class CertificateDirectory:
    """The evidence of a certificate export folder (:func:`export_certificates`): device
    certificates, helper data and the revocation list; no key of any kind."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise IdentityError(
                f"{self.folder} is not a folder: make one with 'ropuf registry export --certs'"
            )

    def evidence(self, device_id: str) -> DeviceEvidence:
        """The device's certificate and helper data; IdentityError if the folder has none."""
        stem = _file_stem(device_id)
        certificate_path = self.folder / f"{stem}.pem"
        if not certificate_path.exists():
            raise IdentityError(f"no certificate for device {device_id!r} in {self.folder}")
        try:
            helper = (self.folder / f"{stem}.helper").read_bytes()
        except OSError as exc:
            raise IdentityError(
                f"cannot read the helper data of {device_id!r} in {self.folder}: {exc.strerror}"
            ) from None
        return DeviceEvidence(read_certificate_file(certificate_path), helper)

    def revocations(self) -> Revocations:
        """The folder's revocation list (:data:`REVOKED_FILE`)."""
        path = self.folder / REVOKED_FILE
        try:
            document = json.loads(path.read_text())
            return Revocations(
                frozenset(int(value, 16) for value in document["serials"]),
                frozenset(bytes.fromhex(value) for value in document["fingerprints"]),
            )
        except OSError as exc:
            raise IdentityError(f"cannot read {path}: {exc.strerror}") from None
        except (ValueError, KeyError, TypeError):
            raise IdentityError(
                f"{path} is not a revocation list (JSON with hex 'serials' and 'fingerprints')"
            ) from None
