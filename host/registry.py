"""The device registry: what a verifier needs to attest enrolled devices, in SQLite.

Each device has one enrollment record: public facts (device id, PUF geometry, helper data, the
owner's public key) signed by the owner with Ed25519, and the device's attestation key,
encrypted at rest with AES-256-GCM under the verifier's master key. The master key never enters
the database: it comes from a key file or an environment variable. The ciphertext is bound to
its record (the record's digest is the GCM associated data), so a key blob cannot be moved to
another record. Every row is checked whole when it is loaded: its record must parse and pass
its owner signature, and its ``device_id`` and ``enrolled_at`` columns must be the signed
record's, so a row renamed or changed in SQL is a :class:`RegistryError`, never a device
attesting under another name.

Nonces a verifier issues are kept in table ``challenges`` (schema version 4), pending until
spent, with an expiry; see :class:`ropuf.host.attestation.Verifier`. A spend is one atomic
``UPDATE ... WHERE spent_at IS NULL``, so a nonce is accepted once however many connections
offer it; expired rows are pruned. Schema version 5 adds what the verifier service
(:mod:`ropuf.host.service`) keeps: each device's owner (an Ed25519 public key, hex) and
revocation, the attestation log (every verdict, committed with the nonce it spent) and the
access tokens (their SHA-256 only); its statements are plain SQL that PostgreSQL accepts too.
Schema version 7 adds the owner-issued device certificates and their owner CAs
(:mod:`.registry_certs`); revoking a device revokes its certificate.

A device may also have one-time challenge-response pairs of its arbiter PUF (table ``crps``,
schema version 3; see :mod:`ropuf.host.crp_auth`): each response encrypted like the key and
bound to its device and challenge, each CRP marked used before a verifier sees it. The JSON
export carries the devices only, not their CRPs.

The schema is versioned (table ``meta``, key ``schema_version``) and upgraded in place by the
migrations in :data:`MIGRATIONS`; each enrollment is one transaction, so a crash half-way leaves
no half record.
"""

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .closing import Closing
from .registry_cache import DEFAULT_CACHE_SIZE, VerifiedCache
from .registry_certs import CERTIFICATE_MIGRATION, CertificateStore, StoredCertificate
from .registry_db import (
    Database,
    database_errors,
    is_postgres_url,
    open_database,
    redacted,
    safe_label,
)
from .registry_errors import DuplicateDeviceError, RegistryError

__all__ = [
    "MASTER_KEY_ENV",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Attestation",
    "Challenge",
    "DeviceState",
    "DuplicateDeviceError",
    "EnrollmentRecord",
    "Registry",
    "RegistryError",
    "StoredCertificate",
    "StoredToken",
    "generate_master_key",
    "load_master_key",
]

#: Environment variable holding the verifier master key (64 hex digits), if no key file is given.
MASTER_KEY_ENV = "ROPUF_MASTER_KEY"

#: Schema migrations: version N is reached by running MIGRATIONS[N - 1] on version N - 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        (
            "CREATE TABLE devices ("
            " device_id TEXT PRIMARY KEY,"
            " record TEXT NOT NULL,"
            " signature BLOB NOT NULL,"
            " key_blob BLOB NOT NULL)"
        ),
    ),
    (
        "ALTER TABLE devices ADD COLUMN enrolled_at TEXT",
        (
            "CREATE TABLE nonces ("
            " device_id TEXT NOT NULL REFERENCES devices(device_id),"
            " nonce BLOB NOT NULL,"
            " used_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,"
            " PRIMARY KEY (device_id, nonce))"
        ),
    ),
    (
        (
            "CREATE TABLE crps ("
            " device_id TEXT NOT NULL REFERENCES devices(device_id),"
            " challenge BLOB NOT NULL,"
            " response BLOB NOT NULL,"
            " used_at TEXT,"
            " PRIMARY KEY (device_id, challenge))"
        ),
        "CREATE INDEX crps_unused ON crps (device_id, used_at)",
    ),
    (
        # Rows of a version-1 registry had no enrolled_at: _fill_enrolled_at takes it from
        # their signed record (rows are checked against their record when loaded, so it must
        # equal that), in Python, not with SQLite's JSON functions.
        # Nonces issued by a verifier: pending until spent (spent_at), valid until expires_at
        # (seconds since the epoch); device_id NULL: issued for any one device.
        (
            "CREATE TABLE challenges ("
            " nonce BLOB PRIMARY KEY,"
            " device_id TEXT REFERENCES devices(device_id),"
            " issued_at REAL NOT NULL,"
            " expires_at REAL NOT NULL,"
            " spent_at REAL)"
        ),
    ),
    (
        # From here on each statement is plain SQL that SQLite and PostgreSQL both accept (no
        # BLOB, no json functions, no AUTOINCREMENT), for the one migration path of both.
        # Table nonces (version 2) was never read: the verifier's nonces are in challenges.
        "DROP TABLE nonces",
        # The owner a device answers to in the service (hex of an Ed25519 public key): the
        # signed record's own owner key at enrollment, another after a transfer.
        "ALTER TABLE devices ADD COLUMN owner TEXT",
        # Seconds since the epoch; a revoked device gets no nonce and fails every attestation.
        "ALTER TABLE devices ADD COLUMN revoked_at DOUBLE PRECISION",
        "CREATE INDEX devices_owner ON devices (owner, device_id)",
        # Expired challenges are pruned (prune_challenges): a nonce no longer in the table is
        # unknown, which is refused as surely as a spent one.
        "CREATE INDEX challenges_expiry ON challenges (expires_at)",
        # Service access tokens: only their SHA-256 is stored; token_id names one for people.
        (
            "CREATE TABLE tokens ("
            " token_hash TEXT PRIMARY KEY,"
            " token_id TEXT NOT NULL UNIQUE,"
            " owner TEXT NOT NULL,"
            " scopes TEXT NOT NULL,"
            " label TEXT NOT NULL,"
            " created_at DOUBLE PRECISION NOT NULL,"
            " revoked_at DOUBLE PRECISION)"
        ),
        # Every verdict of the verifier, committed with the nonce it spent.
        (
            "CREATE TABLE attestations ("
            " device_id TEXT NOT NULL,"
            " at DOUBLE PRECISION NOT NULL,"
            " ok INTEGER NOT NULL,"
            " reason TEXT NOT NULL)"
        ),
        "CREATE INDEX attestations_device ON attestations (device_id, at)",
    ),
    (
        # A fleet characterisation an owner stored (the fleet page's plots): public figures,
        # JSON (host/service/fleet_page.py reads it), the newest per owner shown.
        (
            "CREATE TABLE characterisations ("
            " owner TEXT NOT NULL,"
            " at DOUBLE PRECISION NOT NULL,"
            " summary TEXT NOT NULL)"
        ),
        "CREATE INDEX characterisations_owner ON characterisations (owner, at)",
        # The fleet page counts each device's failures of the last day.
        "CREATE INDEX attestations_at ON attestations (at)",
    ),
    # Owner CAs and device certificates (host/registry_certs.py).
    CERTIFICATE_MIGRATION,
)
SCHEMA_VERSION = len(MIGRATIONS)
#: The first schema versions whose devices have an enrolled_at and an owner column, filled in
#: from the records on an upgrade.
_ENROLLED_AT_VERSION = 4
_OWNER_VERSION = 5

_KEY_BYTES = 32
_NONCE_BYTES = 12
#: Bytes of a stored key blob: GCM nonce, encrypted key, 16-byte tag.
_KEY_BLOB_BYTES = _NONCE_BYTES + _KEY_BYTES + 16
#: The fields of a version-1 record (``canonical``) and the JSON type of each.
_RECORD_FIELDS = {
    "device_id": str,
    "enrolled_at": str,
    "puf": dict,
    "helper_data": str,
    "owner_public_key": str,
    "version": int,
}
#: Associated-data prefix of an encrypted CRP response (then device id, 0x00, challenge).
_CRP_LABEL = b"ropuf crp v1\x00"


def generate_master_key() -> str:
    """A fresh master key as 64 hex digits (keep it out of the database and the logs)."""
    return secrets.token_hex(_KEY_BYTES)


def load_master_key(path: str | os.PathLike[str] | None = None) -> bytes:
    """The verifier master key from *path* (a file of 64 hex digits) or ``$ROPUF_MASTER_KEY``.

    Raises
    ------
    RegistryError
        No key given, the file is unreadable, or the key is not 64 hex digits. The message
        never contains the key.
    """
    if path is not None:
        try:
            text = Path(path).read_text().strip()
        except OSError as exc:
            raise RegistryError(f"cannot read the master key file {path}: {exc.strerror}") from None
        source = f"master key file {path}"
    elif MASTER_KEY_ENV in os.environ:
        text = os.environ[MASTER_KEY_ENV].strip()
        source = f"${MASTER_KEY_ENV}"
    else:
        raise RegistryError(
            f"no master key: give a key file or set {MASTER_KEY_ENV} "
            "(make one with 'ropuf registry new-master-key')"
        )
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != _KEY_BYTES:
        raise RegistryError(f"the {source} must hold {2 * _KEY_BYTES} hex digits")
    return key


@dataclass(frozen=True)
class EnrollmentRecord:
    """The public, signed part of an enrollment.

    Attributes
    ----------
    device_id : str
        The device's name in the registry.
    enrolled_at : str
        ISO 8601 time of enrollment.
    puf : dict
        PUF geometry and build facts reported by the device (RO count, gate window, ...).
    helper_data : bytes
        The helper data the device needs to reconstruct its key (public by design).
    owner_public_key : bytes
        The owner's raw Ed25519 public key (32 bytes).
    """

    device_id: str
    enrolled_at: str
    puf: dict
    helper_data: bytes
    owner_public_key: bytes

    def canonical(self) -> bytes:
        """The exact bytes that are signed: sorted-key compact JSON, binary fields base64."""
        return json.dumps(
            {
                "device_id": self.device_id,
                "enrolled_at": self.enrolled_at,
                "puf": self.puf,
                "helper_data": base64.b64encode(self.helper_data).decode(),
                "owner_public_key": base64.b64encode(self.owner_public_key).decode(),
                "version": 1,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_canonical(cls, data: bytes) -> "EnrollmentRecord":
        """The record of :meth:`canonical` bytes (the signature is not checked here).

        Raises
        ------
        RegistryError
            *data* is not a version-1 record: not JSON, a field missing, extra or of the wrong
            type, or a binary field that is not base64. The message says which.
        """
        try:
            fields = json.loads(data)
        except ValueError as exc:  # JSONDecodeError, or bytes that are not UTF-8
            raise RegistryError(f"not JSON ({exc})") from None
        if not isinstance(fields, dict):
            raise RegistryError(f"a JSON {type(fields).__name__}, not an object")
        if fields.keys() != _RECORD_FIELDS.keys():
            raise RegistryError(f"fields {sorted(fields)}, expected {sorted(_RECORD_FIELDS)}")
        for name, kind in _RECORD_FIELDS.items():
            if type(fields[name]) is not kind:
                raise RegistryError(f"{name} is a JSON {type(fields[name]).__name__}")
        if fields["version"] != 1:
            raise RegistryError(f"version {fields['version']}, this ropuf reads version 1")
        binary = {}
        for name in ("helper_data", "owner_public_key"):
            try:
                binary[name] = base64.b64decode(fields[name], validate=True)
            except ValueError as exc:  # binascii.Error, or non-ASCII text
                raise RegistryError(f"{name} is not base64 ({exc})") from None
        return cls(
            device_id=fields["device_id"],
            enrolled_at=fields["enrolled_at"],
            puf=fields["puf"],
            **binary,
        )

    def digest(self) -> bytes:
        """SHA-256 of :meth:`canonical`: binds the encrypted key to this record."""
        return hashlib.sha256(self.canonical()).digest()


@dataclass(frozen=True)
class Challenge:
    """A nonce a verifier issued (table ``challenges``), as it stood before it was spent.

    Attributes
    ----------
    device_id : str or None
        The device it was issued for; None: any one enrolled device.
    issued_at, expires_at : float
        Seconds since the epoch (the verifier's clock).
    spent_at : float or None
        When it was spent before, or None if it was pending.
    """

    device_id: str | None
    issued_at: float
    expires_at: float
    spent_at: float | None


@dataclass(frozen=True)
class Attestation:
    """One verdict of the attestation log (table ``attestations``).

    Attributes
    ----------
    at : float
        Seconds since the epoch.
    ok : bool
    reason : str
    """

    at: float
    ok: bool
    reason: str


@dataclass(frozen=True)
class DeviceState:
    """What the service keeps about an enrolled device beside its signed record.

    Attributes
    ----------
    owner : str
        The owner's Ed25519 public key, hex (the record's own, or another after a transfer).
    revoked_at : float or None
        When it was revoked (seconds since the epoch), or None.
    last_attestation : Attestation or None
        Its latest verdict, or None if it was never attested.
    """

    owner: str
    revoked_at: float | None
    last_attestation: Attestation | None


@dataclass(frozen=True)
class StoredToken:
    """A service access token as stored: never the token itself, only its hash.

    Attributes
    ----------
    token_id : str
        A short public name of the token (for listing and revoking).
    owner : str
        The owner's public key, hex, whose devices the token reaches.
    scopes : tuple of str
        What it may do (``manage``, ``attest``).
    label : str
    created_at : float
    revoked_at : float or None
    """

    token_id: str
    owner: str
    scopes: tuple[str, ...]
    label: str
    created_at: float
    revoked_at: float | None


class Registry(CertificateStore, Closing):
    """A registry of enrolled devices in an SQLite file or a PostgreSQL database.

    Parameters
    ----------
    path : path-like or str
        The SQLite file (created if missing), or a ``postgresql://`` URL of an existing
        database; upgraded to :data:`SCHEMA_VERSION` if older (one migration path for both).
    master_key : bytes
        32-byte verifier master key (see :func:`load_master_key`).
    cache_size : int
        Devices whose verified record and decrypted key this connection keeps in memory
        (:mod:`.registry_cache`; 0: check the signature and decrypt on every read).

    Raises
    ------
    RegistryError
        The file is not a ropuf registry, or its schema is newer than this version knows.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        master_key: bytes,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
    ):
        if len(master_key) != _KEY_BYTES:
            raise RegistryError(f"the master key must be {_KEY_BYTES} bytes")
        #: The file, or the URL without its password (for messages).
        self.path: Path | str = safe_label(path) if is_postgres_url(path) else Path(path)
        self._aead = AESGCM(master_key)
        self._verified = VerifiedCache(cache_size)
        try:
            self._db = open_database(path)
            self._migrate()
        except database_errors(path) as exc:
            reason = redacted(str(exc), path)
            raise RegistryError(f"{self.path} is not a usable registry: {reason}") from None

    def close(self) -> None:
        self._db.close()

    def schema_version(self) -> int:
        """The schema version of the open database."""
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        self._db.begin_migration()
        try:
            version = self.schema_version()
            if version > SCHEMA_VERSION:
                raise RegistryError(
                    f"{self.path} has schema version {version}, newer than this ropuf knows "
                    f"({SCHEMA_VERSION}): upgrade ropuf"
                )
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    self._db.execute(statement)
            if version < _ENROLLED_AT_VERSION:
                self._fill_enrolled_at()
            if version < _OWNER_VERSION:
                self._fill_owners()
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )
            self._db.commit()
        except BaseException:
            self._db.rollback()
            raise

    def _fill_enrolled_at(self) -> None:
        """Set each device's enrolled_at column from its record's JSON (upgrading to version
        4); a record that is not a JSON object with a string enrolled_at keeps none."""
        rows = self._db.execute("SELECT device_id, record FROM devices WHERE enrolled_at IS NULL")
        for device_id, record_text in rows.fetchall():
            try:
                enrolled_at = json.loads(record_text)["enrolled_at"]
            except (ValueError, TypeError, KeyError):
                continue
            if isinstance(enrolled_at, str):
                self._db.execute(
                    "UPDATE devices SET enrolled_at = ? WHERE device_id = ?",
                    (enrolled_at, device_id),
                )

    def _fill_owners(self) -> None:
        """Set each device's owner column from its record (upgrading to version 5). A record
        that does not parse keeps no owner: loading it reports the damage."""
        rows = self._db.execute("SELECT device_id, record FROM devices WHERE owner IS NULL")
        for device_id, record_text in rows.fetchall():
            try:
                record = EnrollmentRecord.from_canonical(str(record_text).encode())
            except RegistryError:
                continue
            self._db.execute(
                "UPDATE devices SET owner = ? WHERE device_id = ?",
                (record.owner_public_key.hex(), device_id),
            )

    def enroll(
        self, record: EnrollmentRecord, attestation_key: bytes, owner: Ed25519PrivateKey
    ) -> None:
        """Store *record*, signed by *owner*, with *attestation_key* encrypted (one transaction).

        Raises
        ------
        RegistryError
            The device is already enrolled, or *owner* does not match the record's owner key.
        """
        if len(attestation_key) != _KEY_BYTES:
            raise RegistryError(f"an attestation key must be {_KEY_BYTES} bytes")
        if owner.public_key().public_bytes_raw() != record.owner_public_key:
            raise RegistryError(
                f"the signing key is not the owner named in the record of {record.device_id!r}"
            )
        signature = owner.sign(record.canonical())
        nonce = secrets.token_bytes(_NONCE_BYTES)
        key_blob = nonce + self._aead.encrypt(nonce, attestation_key, record.digest())
        try:
            with self._transaction():
                self._db.execute(
                    "INSERT INTO devices"
                    " (device_id, record, signature, key_blob, enrolled_at, owner)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        record.device_id,
                        record.canonical().decode(),
                        signature,
                        key_blob,
                        record.enrolled_at,
                        record.owner_public_key.hex(),
                    ),
                )
        except self._db.integrity_errors:
            raise RegistryError(
                f"device {record.device_id!r} is already enrolled in {self.path}"
            ) from None

    def _verify(
        self, record_text: str, signature: bytes, row: str | None = None
    ) -> EnrollmentRecord:
        """The record of *record_text* after its owner signature is checked.

        *row* is the device id the record was stored under (None for an import): it must be
        the record's own.
        """
        name = repr(row) if row is not None else "an imported device"
        if not isinstance(record_text, str):
            raise RegistryError(
                f"the enrollment record of {name} is not text: the registry was tampered with; "
                "restore it from a backup or re-enrol the device"
            )
        if not isinstance(signature, bytes):
            raise RegistryError(
                f"the signature of {name} is not bytes: the registry was tampered with; "
                "restore it from a backup or re-enrol the device"
            )
        try:
            record = EnrollmentRecord.from_canonical(record_text.encode())
        except RegistryError as exc:
            raise RegistryError(
                f"the enrollment record of {name} is unreadable ({exc}): it was changed after "
                "enrollment; restore the registry from a backup or re-enrol the device"
            ) from None
        if row is None:
            name = repr(record.device_id)
        try:
            Ed25519PublicKey.from_public_bytes(record.owner_public_key).verify(
                signature, record.canonical()
            )
        except (InvalidSignature, ValueError):
            raise RegistryError(
                f"the enrollment record of {name} fails its owner signature: "
                "it was changed after enrollment; re-enrol the device"
            ) from None
        if record.canonical().decode() != record_text:
            raise RegistryError(
                f"the enrollment record of {name} is not canonical: it was changed after "
                "enrollment; restore the registry from a backup or re-enrol the device"
            )
        if row is not None and record.device_id != row:
            raise RegistryError(
                f"the row {row!r} holds the signed record of {record.device_id!r}: its "
                "device_id was changed after enrollment; restore the registry from a backup"
            )
        return record

    def _load(self, device_id: str) -> tuple[EnrollmentRecord, bytes]:
        """The verified record of *device_id* and its attestation key; every column is
        checked, and the key must decrypt under the master key bound to the record."""
        row = self._db.execute(
            "SELECT record, signature, enrolled_at, key_blob FROM devices WHERE device_id = ?",
            (device_id,),
        ).fetchone()
        if row is None:
            raise RegistryError(f"device {device_id!r} is not enrolled in {self.path}")
        return self._checked(device_id, tuple(row))

    def _checked(self, device_id: str, columns: tuple) -> tuple[EnrollmentRecord, bytes]:
        """The verified record and key of the row *columns* (record, signature, enrolled_at,
        key blob) of *device_id*: from the cache if it holds exactly this row, else every
        check of :meth:`record`, and then cached."""
        cached = self._verified.get(device_id, columns)
        if cached is not None:
            return cached
        record_text, signature, enrolled_at, key_blob = columns
        record = self._verify(record_text, signature, device_id)
        if enrolled_at != record.enrolled_at:
            raise RegistryError(
                f"the enrolled_at of {device_id!r} ({enrolled_at!r}) is not the one of its "
                f"signed record ({record.enrolled_at!r}): it was changed after enrollment; "
                "restore the registry from a backup"
            )
        if not isinstance(key_blob, bytes) or len(key_blob) != _KEY_BLOB_BYTES:
            raise RegistryError(
                f"the stored key of {device_id!r} is malformed (not {_KEY_BLOB_BYTES} bytes): "
                "the registry was tampered with; restore it from a backup or re-enrol the device"
            )
        # The owner's public key travels inside the record it signs, so the signature alone
        # does not tell a record written into the database by someone else: the key blob,
        # sealed under the master key with the record's digest as associated data, does.
        try:
            key = self._aead.decrypt(
                key_blob[:_NONCE_BYTES], key_blob[_NONCE_BYTES:], record.digest()
            )
        except InvalidTag:
            raise RegistryError(
                f"cannot decrypt the key of {device_id!r}: wrong master key, or the registry "
                "was tampered with"
            ) from None
        self._verified.put(device_id, columns, (record, key))
        return record, key

    def verified_devices(
        self, device_ids: Iterable[str]
    ) -> dict[str, tuple[DeviceState, EnrollmentRecord, bytes] | RegistryError]:
        """For each enrolled id of *device_ids*, in one query: its state (owner, revocation;
        no last attestation), verified record and attestation key, or the RegistryError its
        row raises (see :meth:`record`). Ids that are not enrolled are left out."""
        found: dict = {}
        unique = list(dict.fromkeys(device_ids))
        for chunk in _chunks(unique):
            among, params = self._db.in_list("device_id", chunk)
            rows = self._db.execute(
                "SELECT device_id, record, signature, enrolled_at, key_blob, owner, revoked_at"
                f" FROM devices WHERE {among}",
                params,
            ).fetchall()
            for device_id, *columns, owner, revoked_at in rows:
                state = DeviceState(owner, revoked_at, None)
                try:
                    found[device_id] = (state, *self._checked(device_id, tuple(columns)))
                except RegistryError as exc:
                    found[device_id] = exc
        return found

    def device_owners(self, device_ids: Iterable[str]) -> dict[str, str | None]:
        """The owner of each enrolled id of *device_ids* (one query a thousand ids)."""
        owners: dict[str, str | None] = {}
        for chunk in _chunks(list(dict.fromkeys(device_ids))):
            among, params = self._db.in_list("device_id", chunk)
            rows = self._db.execute(f"SELECT device_id, owner FROM devices WHERE {among}", params)
            owners.update((device_id, owner) for device_id, owner in rows)
        return owners

    def record(self, device_id: str) -> EnrollmentRecord:
        """The verified enrollment record of *device_id*.

        Raises
        ------
        RegistryError
            Unknown device; or a row that was changed after enrollment: a record that is
            unreadable or fails its owner signature, a device id or ``enrolled_at`` column
            that is not the signed record's, a key blob that is malformed or does not decrypt
            under the master key with this record (a replaced record, even one signed by
            another key, or the wrong master key).
        """
        return self._load(device_id)[0]

    def attestation_key(self, device_id: str) -> bytes:
        """Decrypt the attestation key of *device_id* (after verifying its record).

        Raises
        ------
        RegistryError
            As :meth:`record`, or a key that does not decrypt (wrong master key, or a key blob
            moved from another record).
        """
        return self._load(device_id)[1]

    def devices(self) -> list[str]:
        """Enrolled device ids, sorted."""
        return [row[0] for row in self._db.execute("SELECT device_id FROM devices ORDER BY 1")]

    def add_challenge(
        self, nonce: bytes, device_id: str | None, issued_at: float, expires_at: float
    ) -> None:
        """Record *nonce* as issued and pending (committed before it is handed out).

        Raises
        ------
        RegistryError
            *device_id* is not enrolled, or the nonce was issued before.
        """
        if device_id is not None:
            self._require_device(device_id, "issuing a nonce for it")
        try:
            with self._transaction():
                self._db.execute(
                    "INSERT INTO challenges (nonce, device_id, issued_at, expires_at)"
                    " VALUES (?, ?, ?, ?)",
                    (nonce, device_id, issued_at, expires_at),
                )
        except self._db.integrity_errors:
            raise RegistryError("this nonce was issued before: issue a fresh one") from None

    def spend_challenge(self, nonce: bytes, now: float) -> Challenge | None:
        """Mark the issued *nonce* spent at *now* (committed) and return it as it was before.

        None if it was never issued (or was pruned after it expired); a :class:`Challenge`
        with ``spent_at`` set if it had been spent already (it stays spent). The caller judges
        device and expiry. The spend is one ``UPDATE ... WHERE spent_at IS NULL``: of any
        number of concurrent spends of one nonce, on any connection, exactly one changes the
        row, so exactly one sees it pending.
        """
        return self.spend_challenges([nonce], now)[0]

    def spend_challenges(self, nonces: list[bytes], now: float) -> list[Challenge | None]:
        """:meth:`spend_challenge` for each of *nonces*, in one ``UPDATE ... WHERE spent_at IS
        NULL AND nonce IN (...) RETURNING`` a thousand nonces (and one ``SELECT`` of those it
        did not change), in one transaction (the caller's, or one of its own).

        Returns, in the order of *nonces*, None (never issued, or pruned) or the Challenge as
        it was: ``spent_at`` None only for the one occurrence that spent it (a nonce twice in
        *nonces* is a replay the second time).
        """
        # Sorted: concurrent batches lock the rows they share in one order (no deadlock).
        unique = sorted(set(nonces))
        won: dict[bytes, Challenge] = {}
        seen: dict[bytes, Challenge] = {}
        with self._transaction():
            for chunk in _chunks(unique):
                among, params = self._db.in_list("nonce", chunk)
                rows = self._db.execute(
                    "UPDATE challenges SET spent_at = ? WHERE spent_at IS NULL"
                    f" AND {among} RETURNING nonce, device_id, issued_at, expires_at",
                    (now, *params),
                ).fetchall()
                for nonce, device_id, issued_at, expires_at in rows:
                    won[bytes(nonce)] = Challenge(device_id, issued_at, expires_at, None)
                rest = [nonce for nonce in chunk if nonce not in won]
                if rest:
                    among, params = self._db.in_list("nonce", rest)
                    rows = self._db.execute(
                        "SELECT nonce, device_id, issued_at, expires_at, spent_at"
                        f" FROM challenges WHERE {among}",
                        params,
                    ).fetchall()
                    for nonce, device_id, issued_at, expires_at, spent_at in rows:
                        seen[bytes(nonce)] = Challenge(device_id, issued_at, expires_at, spent_at)
        results: list[Challenge | None] = []
        for nonce in nonces:
            if nonce in won:
                first = won.pop(nonce)
                results.append(first)
                seen[nonce] = Challenge(first.device_id, first.issued_at, first.expires_at, now)
            else:
                results.append(seen.get(nonce))
        return results

    def prune_challenges(self, now: float) -> int:
        """Delete the challenges that expired before *now*, spent or not; returns how many.

        A pruned nonce is unknown to :meth:`spend_challenge`, which a verifier refuses as it
        refuses a spent one, so pruning never opens a replay.
        """
        with self._transaction():
            cursor = self._db.execute("DELETE FROM challenges WHERE expires_at < ?", (now,))
        return max(cursor.rowcount, 0)

    def log_attestation(self, device_id: str, at: float, ok: bool, reason: str) -> None:
        """Append one verdict to the attestation log (committed, or with the transaction it
        is part of, see :meth:`transaction`)."""
        with self._transaction():
            self._db.execute(
                "INSERT INTO attestations (device_id, at, ok, reason) VALUES (?, ?, ?, ?)",
                (device_id, at, int(ok), reason),
            )

    def log_attestations(self, verdicts: list[tuple[str, float, bool, str]]) -> None:
        """Append many ``(device_id, at, ok, reason)`` verdicts in one statement (committed,
        or with the transaction it is part of)."""
        with self._transaction():
            self._db.insert_many(
                "attestations",
                {"device_id": "text", "at": "double precision", "ok": "integer", "reason": "text"},
                [(device_id, at, int(ok), reason) for device_id, at, ok, reason in verdicts],
            )

    def device_state(self, device_id: str) -> DeviceState | None:
        """Owner, revocation and latest verdict of *device_id*; None if it is not enrolled.
        (The record itself is checked by :meth:`record`.)"""
        row = self._db.execute(
            "SELECT owner, revoked_at FROM devices WHERE device_id = ?", (device_id,)
        ).fetchone()
        if row is None:
            return None
        last = self._db.execute(
            "SELECT at, ok, reason FROM attestations WHERE device_id = ? ORDER BY at DESC LIMIT 1",
            (device_id,),
        ).fetchone()
        attestation = None if last is None else Attestation(last[0], bool(last[1]), last[2])
        return DeviceState(row[0], row[1], attestation)

    def failures_since(self, owner: str, since: float) -> dict[str, int]:
        """Failed verdicts at or after *since*, by device id, of the devices *owner* holds
        (devices without one are left out)."""
        rows = self._db.execute(
            "SELECT a.device_id, COUNT(*) FROM attestations a"
            " JOIN devices d ON d.device_id = a.device_id"
            " WHERE d.owner = ? AND a.ok = 0 AND a.at >= ? GROUP BY a.device_id",
            (owner, since),
        )
        return {device_id: int(count) for device_id, count in rows}

    def add_characterisation(self, owner: str, at: float, summary: dict) -> None:
        """Store a fleet characterisation of *owner* (public figures, a JSON object) made at
        *at*; :meth:`characterisation` returns the newest."""
        _check_owner(owner)
        if not isinstance(summary, dict):
            raise RegistryError("a characterisation is a JSON object")
        with self._transaction():
            self._db.execute(
                "INSERT INTO characterisations (owner, at, summary) VALUES (?, ?, ?)",
                (owner, at, json.dumps(summary, sort_keys=True)),
            )

    def characterisation(self, owner: str) -> tuple[float, dict] | None:
        """The newest characterisation *owner* stored, as (time, summary); None if none."""
        row = self._db.execute(
            "SELECT at, summary FROM characterisations WHERE owner = ? ORDER BY at DESC LIMIT 1",
            (owner,),
        ).fetchone()
        return None if row is None else (row[0], json.loads(row[1]))

    def owned_devices(self, owner: str, after: str = "", limit: int = 100) -> list[str]:
        """Up to *limit* device ids of *owner* (public key, hex) after *after*, sorted: one page
        (pass the last id of a page as *after* for the next)."""
        rows = self._db.execute(
            "SELECT device_id FROM devices WHERE owner = ? AND device_id > ?"
            " ORDER BY device_id LIMIT ?",
            (owner, after, limit),
        )
        return [row[0] for row in rows]

    def revoke(self, device_id: str, now: float) -> None:
        """Revoke *device_id* at *now*: no nonce is issued for it and no attestation passes;
        its live certificate is marked revoked too (signature attestations refuse it).

        Raises
        ------
        RegistryError
            It is not enrolled, or was revoked before.
        """
        self._require_device(device_id, "revoking it")
        with self._transaction():
            changed = self._db.execute(
                "UPDATE devices SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL",
                (now, device_id),
            ).rowcount
            self._revoke_certificates(device_id, now)
        if changed != 1:
            raise RegistryError(f"device {device_id!r} was revoked before")

    def transfer(self, device_id: str, owner: str) -> None:
        """Make *owner* (an Ed25519 public key, 64 hex digits) the owner of *device_id*.

        The signed record keeps the enrolling owner's key; the service answers to *owner*.

        Raises
        ------
        RegistryError
            It is not enrolled, or *owner* is not 64 hex digits.
        """
        _check_owner(owner)
        self._require_device(device_id, "transferring it")
        with self._transaction():
            self._db.execute(
                "UPDATE devices SET owner = ? WHERE device_id = ?", (owner.lower(), device_id)
            )

    def add_token(self, token_hash: str, token: StoredToken) -> None:
        """Store a service token by its hash (see :mod:`ropuf.host.service.tokens`).

        Raises
        ------
        RegistryError
            A token with this hash or id exists (draw another).
        """
        _check_owner(token.owner)
        try:
            with self._transaction():
                self._db.execute(
                    "INSERT INTO tokens (token_hash, token_id, owner, scopes, label, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        token_hash,
                        token.token_id,
                        token.owner,
                        " ".join(token.scopes),
                        token.label,
                        token.created_at,
                    ),
                )
        except self._db.integrity_errors:
            raise RegistryError(f"token {token.token_id!r} exists: draw another") from None

    _TOKEN_COLUMNS = "token_id, owner, scopes, label, created_at, revoked_at"

    def token(self, token_hash: str) -> StoredToken | None:
        """The stored token of *token_hash*, revoked or not; None if there is none."""
        row = self._db.execute(
            f"SELECT {self._TOKEN_COLUMNS} FROM tokens WHERE token_hash = ?", (token_hash,)
        ).fetchone()
        return None if row is None else _stored_token(row)

    def tokens(self) -> list[StoredToken]:
        """Every stored token (never the token itself), oldest first."""
        rows = self._db.execute(f"SELECT {self._TOKEN_COLUMNS} FROM tokens ORDER BY created_at")
        return [_stored_token(row) for row in rows]

    def revoke_token(self, token_id: str, now: float) -> None:
        """Revoke the token named *token_id* at *now*.

        Raises
        ------
        RegistryError
            No such token, or it was revoked before.
        """
        with self._transaction():
            changed = self._db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                (now, token_id),
            ).rowcount
        if changed != 1:
            raise RegistryError(
                f"no token {token_id!r} that is not revoked: see 'ropuf registry token list'"
            )

    def _crp_context(self, device_id: str, challenge: bytes) -> bytes:
        return _CRP_LABEL + device_id.encode() + b"\x00" + challenge

    def add_crps(self, device_id: str, crps: Iterable[tuple[bytes, int]]) -> int:
        """Store one-time challenge-response pairs of an enrolled device (one transaction).

        Each response (0 or 1) is encrypted with AES-256-GCM under the master key, bound to
        the device and the challenge, like the attestation key. A challenge the device already
        has, used or not, is skipped: a used challenge never comes back.

        Returns
        -------
        int
            How many CRPs were new.

        Raises
        ------
        RegistryError
            The device is not enrolled, or a CRP is not ``(non-empty bytes, 0 or 1)``.
        """
        self._require_device(device_id, "adding CRPs")
        rows = []
        for challenge, response in crps:
            if not isinstance(challenge, bytes) or not challenge or response not in (0, 1):
                raise RegistryError(
                    f"a CRP is (challenge bytes, response 0 or 1), not ({challenge!r}, "
                    f"{response!r})"
                )
            nonce = secrets.token_bytes(_NONCE_BYTES)
            sealed = self._aead.encrypt(
                nonce, bytes([int(response)]), self._crp_context(device_id, challenge)
            )
            rows.append((device_id, challenge, nonce + sealed))
        with self._transaction():
            return self._db.executemany(
                "INSERT INTO crps (device_id, challenge, response) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                rows,
            )

    def take_crps(self, device_id: str, count: int) -> list[tuple[bytes, int]]:
        """Take *count* unused CRPs of *device_id*, oldest first, and mark them used.

        They are marked used and committed **before** they are returned, so a verifier that
        crashes or rejects still never uses them again (like nonces).

        Raises
        ------
        RegistryError
            Fewer than *count* unused CRPs are left (none is marked then), or a response does
            not decrypt (wrong master key, or the database was tampered with).
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise RegistryError(f"the number of CRPs to take must be at least 1, not {count!r}")
        self._require_device(device_id, "taking CRPs")
        with self._transaction():
            rows = self._db.execute(
                "SELECT challenge, response FROM crps WHERE device_id = ? AND used_at IS NULL"
                f" ORDER BY {self._db.row_order} LIMIT ?",
                (device_id, count),
            ).fetchall()
            if len(rows) < count:
                raise RegistryError(
                    f"device {device_id!r} has {len(rows)} unused CRPs, {count} needed: "
                    "enrol more CRPs"
                )
            # Marked only while still unused: a verifier on another connection that took one
            # of them first makes this take fail whole, never hands out a CRP twice.
            marked = self._db.executemany(
                "UPDATE crps SET used_at = CURRENT_TIMESTAMP"
                " WHERE device_id = ? AND challenge = ? AND used_at IS NULL",
                [(device_id, challenge) for challenge, _ in rows],
            )
            if marked != count:
                raise RegistryError(
                    f"another verifier took CRPs of {device_id!r} at the same time: try again"
                )
        taken = []
        for challenge, blob in rows:
            try:
                plain = self._aead.decrypt(
                    blob[:_NONCE_BYTES],
                    blob[_NONCE_BYTES:],
                    self._crp_context(device_id, challenge),
                )
            except InvalidTag:
                raise RegistryError(
                    f"cannot decrypt a CRP of {device_id!r}: wrong master key, or the registry "
                    "was tampered with"
                ) from None
            taken.append((bytes(challenge), plain[0]))
        return taken

    def crp_counts(self, device_id: str) -> tuple[int, int]:
        """``(unused, used)`` CRPs stored for *device_id*."""
        unused, used = self._db.execute(
            "SELECT COUNT(*) - COUNT(used_at), COUNT(used_at) FROM crps WHERE device_id = ?",
            (device_id,),
        ).fetchone()
        return unused, used

    def _require_device(self, device_id: str, action: str) -> None:
        row = self._db.execute("SELECT 1 FROM devices WHERE device_id = ?", (device_id,))
        if row.fetchone() is None:
            raise RegistryError(
                f"device {device_id!r} is not enrolled in {self.path}: enrol it before {action}"
            )

    def export_json(self) -> str:
        """Every device's signed record, encrypted key and certificates (with their owner CAs
        and times) as JSON (no plaintext key)."""
        rows = self._db.execute(
            "SELECT device_id, record, signature, key_blob, owner, revoked_at FROM devices"
            " ORDER BY device_id"
        )
        entries = []
        for device_id, record_text, signature, key_blob, owner, revoked_at in rows:
            self._load(device_id)
            entries.append(
                {
                    "device_id": device_id,
                    "record": json.loads(record_text),
                    "signature": base64.b64encode(signature).decode(),
                    "key_blob": base64.b64encode(key_blob).decode(),
                    "owner": owner,
                    "revoked_at": revoked_at,
                    "certificates": self._export_certificates(device_id),
                }
            )
        return json.dumps({"ropuf_registry": SCHEMA_VERSION, "devices": entries}, indent=2)

    def import_json(self, text: str, owner: str | None = None) -> list[str]:
        """Add the devices of an export (one transaction); returns their ids.

        Every record must pass its owner signature and its key must decrypt under this
        registry's master key, and with *owner* (a public key, hex) given every record must be
        that owner's; each certificate must name its device and verify under the owner CA it
        carries (an export without ``certificates``, of schema 6, has none); nothing is added
        otherwise.
        """
        try:
            document = json.loads(text)
            entries = document["devices"]
        except (ValueError, KeyError, TypeError):
            raise RegistryError(
                "not a ropuf registry export (expected JSON with 'devices')"
            ) from None
        if not isinstance(entries, list):
            raise RegistryError("not a ropuf registry export ('devices' is not a list)")
        added = []
        with self._transaction():
            for index, entry in enumerate(entries):
                record_text, signature, key_blob = self._export_entry(index, entry)
                record = self._verify(record_text, signature)
                if owner is not None and record.owner_public_key.hex() != owner:
                    raise RegistryError(
                        f"the record of {record.device_id!r} is signed by owner "
                        f"{record.owner_public_key.hex()[:16]}..., not by {owner[:16]}...: "
                        "import only your own devices"
                    )
                if record.device_id != entry["device_id"]:
                    raise RegistryError(
                        f"device {index} of the export is named {entry['device_id']!r} but holds "
                        f"the signed record of {record.device_id!r}: the export was changed"
                    )
                if len(key_blob) != _KEY_BLOB_BYTES:
                    raise RegistryError(
                        f"the key of {record.device_id!r} in the export is malformed "
                        f"(not {_KEY_BLOB_BYTES} bytes): the export was changed"
                    )
                try:
                    self._aead.decrypt(
                        key_blob[:_NONCE_BYTES], key_blob[_NONCE_BYTES:], record.digest()
                    )
                except InvalidTag:
                    raise RegistryError(
                        f"the key of {record.device_id!r} does not decrypt under this master key"
                    ) from None
                # A revoked device stays revoked where it is imported (the export says since
                # when); the managing owner (a transfer's) comes along on an administrator's
                # import, while an owner's import (*owner* given) keeps the records' signer.
                revoked_at = entry.get("revoked_at")
                managing = entry.get("owner") if owner is None else None
                if not (revoked_at is None or isinstance(revoked_at, int | float)) or not (
                    managing is None or (isinstance(managing, str) and len(managing) == 64)
                ):
                    raise RegistryError(
                        f"the state of {record.device_id!r} in the export is malformed: the "
                        "export was changed"
                    )
                try:
                    self._db.execute(
                        "INSERT INTO devices"
                        " (device_id, record, signature, key_blob, enrolled_at, owner, revoked_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            record.device_id,
                            record_text,
                            signature,
                            key_blob,
                            record.enrolled_at,
                            managing or record.owner_public_key.hex(),
                            revoked_at,
                        ),
                    )
                except self._db.integrity_errors:
                    raise DuplicateDeviceError(
                        f"device {record.device_id!r} is already enrolled"
                    ) from None
                self._import_certificates(record.device_id, entry.get("certificates", []))
                added.append(record.device_id)
        return added

    @staticmethod
    def _export_entry(index: int, entry: object) -> tuple[str, bytes, bytes]:
        """Record text, signature and key blob of one device of an export (:meth:`export_json`).

        Raises
        ------
        RegistryError
            The entry lacks a field, or its signature or key blob is not base64.
        """
        fields = ("device_id", "record", "signature", "key_blob")
        if not isinstance(entry, dict) or not all(name in entry for name in fields):
            raise RegistryError(
                f"device {index} of the export is malformed: expected {', '.join(fields)}"
            )
        record_text = json.dumps(entry["record"], sort_keys=True, separators=(",", ":"))
        binary = []
        for name in ("signature", "key_blob"):
            try:
                if not isinstance(entry[name], str):
                    raise ValueError("not a string")
                binary.append(base64.b64decode(entry[name], validate=True))
            except ValueError as exc:  # binascii.Error, non-ASCII text
                raise RegistryError(
                    f"the {name} of device {index} of the export is not base64 ({exc})"
                ) from None
        return record_text, binary[0], binary[1]

    def transaction(self) -> "_Transaction":
        """A ``with`` block in which every change of this registry is one transaction, one
        commit at its end (a rollback on an exception): a batch of spends and verdicts."""
        return self._transaction()

    def _transaction(self) -> "_Transaction":
        return _Transaction(self._db)


#: Most values in one ``IN (...)`` list (SQLite allows 32,766 parameters, PostgreSQL 65,535).
_IN_LIST = 1000


def _chunks(values: list) -> Iterable[list]:
    for start in range(0, len(values), _IN_LIST):
        yield values[start : start + _IN_LIST]


def _check_owner(owner: str) -> None:
    try:
        valid = isinstance(owner, str) and len(owner) == 64 and len(bytes.fromhex(owner)) == 32
    except ValueError:
        valid = False
    if not valid:
        raise RegistryError(
            f"an owner is an Ed25519 public key as 64 hex digits, not {owner!r} "
            "('ropuf registry new-owner-key' prints one)"
        )


def _stored_token(row: tuple) -> StoredToken:
    token_id, owner, scopes, label, created_at, revoked_at = row
    return StoredToken(token_id, owner, tuple(scopes.split()), label, created_at, revoked_at)


class _Transaction:
    """``BEGIN`` (``IMMEDIATE`` on SQLite) ... ``COMMIT``, or ``ROLLBACK`` on any exception;
    inside another transaction of the connection it is part of that one (no commit of its
    own)."""

    def __init__(self, db: Database):
        self._db = db
        self._outer = False

    def __enter__(self) -> None:
        self._outer = not self._db.in_transaction
        if self._outer:
            self._db.begin()

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._outer:
            if exc_type:
                self._db.rollback()
            else:
                self._db.commit()
