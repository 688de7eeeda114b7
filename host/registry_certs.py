"""The registry's certificates: each device's owner-issued X.509 certificates and their CAs.

Schema version 7 (:data:`ropuf.host.registry.MIGRATIONS`) adds two tables, plain SQL that
SQLite and PostgreSQL both accept:

* ``owner_cas``: the owner CA certificates (PEM) the registry's device certificates name, by
  SHA-256 fingerprint (hex). Public: a verifier still chooses which of them it trusts.
* ``certificates``: one row per certificate issued to a device: the DER (hex), the serial
  number (hex: 159 bits do not fit a database integer), the issuing owner CA's fingerprint,
  issued and revoked times (seconds since the epoch). At most one unrevoked row per device (a
  partial unique index): a transfer revokes the old one in the transaction that adds the new.

:class:`CertificateStore` is the part of :class:`~ropuf.host.registry.Registry` that reads
and writes them; no secret is kept here (the owner CA's key stays in its file).
"""

import base64
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from .identity import Revocations, fingerprint
from .registry_errors import RegistryError

__all__ = ["CERTIFICATE_MIGRATION", "CertificateStore", "StoredCertificate"]

#: Schema version 7: the owner CAs and the device certificates.
CERTIFICATE_MIGRATION: tuple[str, ...] = (
    "CREATE TABLE owner_cas (fingerprint TEXT PRIMARY KEY, certificate TEXT NOT NULL)",
    (
        "CREATE TABLE certificates ("
        " device_id TEXT NOT NULL REFERENCES devices(device_id),"
        " serial TEXT NOT NULL,"
        " ca_fingerprint TEXT NOT NULL REFERENCES owner_cas(fingerprint),"
        " der TEXT NOT NULL,"
        " issued_at DOUBLE PRECISION NOT NULL,"
        " revoked_at DOUBLE PRECISION,"
        " PRIMARY KEY (device_id, serial))"
    ),
    # One live certificate per device.
    ("CREATE UNIQUE INDEX certificates_live ON certificates (device_id) WHERE revoked_at IS NULL"),
)


@dataclass(frozen=True)
class StoredCertificate:
    """A device *certificate* as the registry keeps it, with the owner *ca* that issued it and
    its *issued_at* and *revoked_at* times (seconds since the epoch; None: not revoked)."""

    device_id: str
    certificate: x509.Certificate
    ca: x509.Certificate
    issued_at: float
    revoked_at: float | None


class CertificateStore:
    """Certificate methods of :class:`~ropuf.host.registry.Registry` (it provides ``_db``,
    ``_transaction``, ``path`` and ``_require_device``)."""

    def add_certificate(
        self, device_id: str, certificate: x509.Certificate, ca: x509.Certificate, now: float
    ) -> None:
        """Store *certificate*, issued to *device_id* by the owner CA *ca* at *now*, as the
        device's live certificate; a live one it had is revoked at *now* in the same
        transaction (a transfer: the previous owner's certificate no longer holds)."""
        self._require_device(device_id, "certifying it")
        with self._transaction():
            ca_print = self._store_owner_ca(ca)
            self._db.execute(
                "UPDATE certificates SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL",
                (now, device_id),
            )
            try:
                self._db.execute(
                    "INSERT INTO certificates"
                    " (device_id, serial, ca_fingerprint, der, issued_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        device_id,
                        f"{certificate.serial_number:x}",
                        ca_print,
                        certificate.public_bytes(serialization.Encoding.DER).hex(),
                        now,
                    ),
                )
            except self._db.integrity_errors:
                raise RegistryError(
                    f"device {device_id!r} already has certificate serial "
                    f"{certificate.serial_number:x}"
                ) from None

    def certificates(self, device_id: str | None = None) -> list[StoredCertificate]:
        """Every certificate of *device_id* (of every device if None), oldest first."""
        sql = (
            "SELECT c.device_id, c.der, o.certificate, c.issued_at, c.revoked_at"
            " FROM certificates c JOIN owner_cas o ON o.fingerprint = c.ca_fingerprint"
        )
        parameters: tuple = ()
        if device_id is not None:
            sql += " WHERE c.device_id = ?"
            parameters = (device_id,)
        rows = self._db.execute(sql + " ORDER BY c.device_id, c.issued_at", parameters)
        return [_stored(row) for row in rows.fetchall()]

    def certificate(self, device_id: str) -> StoredCertificate | None:
        """The device's live certificate, else its latest (revoked) one; None if it has none."""
        stored = self.certificates(device_id)
        live = [entry for entry in stored if entry.revoked_at is None]
        return (live or stored or [None])[-1]

    def certificate_revocations(self) -> Revocations:
        """The revocation list of every revoked certificate in the registry, by fingerprint
        (SHA-256 of the DER) only: a serial number is unique only under one owner CA, and a
        certificate of another CA with a revoked serial (an import can bring one) must not
        revoke this one's."""
        rows = self._db.execute("SELECT der FROM certificates WHERE revoked_at IS NOT NULL")
        return Revocations(
            fingerprints=frozenset(hashlib.sha256(bytes.fromhex(der)).digest() for (der,) in rows)
        )

    def _export_certificates(self, device_id: str) -> list[dict]:
        """*device_id*'s certificates for the JSON export (public: DER, owner CA, times)."""
        return [
            {
                "der": base64.b64encode(
                    entry.certificate.public_bytes(serialization.Encoding.DER)
                ).decode(),
                "owner_ca": entry.ca.public_bytes(serialization.Encoding.PEM).decode(),
                "issued_at": entry.issued_at,
                "revoked_at": entry.revoked_at,
            }
            for entry in self.certificates(device_id)
        ]

    def _import_certificates(self, device_id: str, entries: object) -> None:
        """Store the exported certificates of *device_id* as they were (inside the import's
        transaction), each checked: the device's subject, signed by the owner CA it names."""
        if not isinstance(entries, list):
            raise RegistryError(f"the certificates of {device_id!r} in the export are not a list")
        for entry in entries:
            try:
                certificate = x509.load_der_x509_certificate(base64.b64decode(entry["der"]))
                ca = x509.load_pem_x509_certificate(str(entry["owner_ca"]).encode())
                issued_at = float(entry["issued_at"])
                revoked_at = None if entry["revoked_at"] is None else float(entry["revoked_at"])
                names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
                certificate.verify_directly_issued_by(ca)
            except (ValueError, TypeError, KeyError, InvalidSignature):
                raise RegistryError(
                    f"a certificate of {device_id!r} in the export is malformed or does not "
                    "verify under the owner CA it names: the export was changed"
                ) from None
            if [name.value for name in names] != [device_id]:
                raise RegistryError(
                    f"a certificate in the export of {device_id!r} names another device: the "
                    "export was changed"
                )
            ca_print = self._store_owner_ca(ca)
            try:
                self._db.execute(
                    "INSERT INTO certificates"
                    " (device_id, serial, ca_fingerprint, der, issued_at, revoked_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        device_id,
                        f"{certificate.serial_number:x}",
                        ca_print,
                        certificate.public_bytes(serialization.Encoding.DER).hex(),
                        issued_at,
                        revoked_at,
                    ),
                )
            except self._db.integrity_errors:
                raise RegistryError(
                    f"the export holds two live certificates of {device_id!r}, or a serial "
                    "number its owner CA issued twice: the export was changed"
                ) from None

    def _store_owner_ca(self, ca: x509.Certificate) -> str:
        """Add *ca* to ``owner_cas`` unless it is there; its fingerprint (hex)."""
        ca_print = fingerprint(ca).hex()
        known = self._db.execute(
            "SELECT 1 FROM owner_cas WHERE fingerprint = ?", (ca_print,)
        ).fetchone()
        if known is None:
            self._db.execute(
                "INSERT INTO owner_cas (fingerprint, certificate) VALUES (?, ?)",
                (ca_print, ca.public_bytes(serialization.Encoding.PEM).decode()),
            )
        return ca_print

    def _revoke_certificates(self, device_id: str, now: float) -> int:
        """Mark *device_id*'s live certificate revoked at *now* (inside the caller's
        transaction); the number of rows changed (0 or 1)."""
        return self._db.execute(
            "UPDATE certificates SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL",
            (now, device_id),
        ).rowcount


def _stored(row: tuple) -> StoredCertificate:
    device_id, der, ca_pem, issued_at, revoked_at = row
    return StoredCertificate(
        device_id,
        x509.load_der_x509_certificate(bytes.fromhex(der)),
        x509.load_pem_x509_certificate(str(ca_pem).encode()),
        float(issued_at),
        None if revoked_at is None else float(revoked_at),
    )
