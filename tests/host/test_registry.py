"""The device registry: signed records, encrypted keys, migrations, crashes, export/import."""

import dataclasses
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host import registry
from ropuf.host.registry import EnrollmentRecord, Registry, RegistryError

MASTER = bytes(range(32))


def make_record(device_id: str, owner: Ed25519PrivateKey) -> EnrollmentRecord:
    return EnrollmentRecord(
        device_id=device_id,
        enrolled_at="2026-11-24T12:00:00+00:00",
        puf={"n_ro": 256, "gate_cycles": 4096},
        helper_data=bytes(range(200)),
        owner_public_key=owner.public_key().public_bytes_raw(),
    )


@pytest.fixture
def owner():
    return Ed25519PrivateKey.generate()


def test_round_trip(tmp_path, owner):
    key = bytes(range(100, 132))
    with Registry(tmp_path / "r.db", MASTER) as reg:
        reg.enroll(make_record("dev-a", owner), key, owner)
        assert reg.devices() == ["dev-a"]
        assert reg.record("dev-a") == make_record("dev-a", owner)
        assert reg.attestation_key("dev-a") == key
    # The key is not in the file in clear.
    assert key not in (tmp_path / "r.db").read_bytes()


def test_wrong_master_key_cannot_read(tmp_path, owner):
    with Registry(tmp_path / "r.db", MASTER) as reg:
        reg.enroll(make_record("dev-a", owner), bytes(32), owner)
    with Registry(tmp_path / "r.db", bytes(32)) as reg:
        with pytest.raises(RegistryError, match="cannot decrypt the key of 'dev-a': wrong master"):
            reg.attestation_key("dev-a")


def test_tampered_record_fails_owner_signature(tmp_path, owner):
    with Registry(tmp_path / "r.db", MASTER) as reg:
        reg.enroll(make_record("dev-a", owner), bytes(32), owner)
    db = sqlite3.connect(tmp_path / "r.db")
    (text,) = db.execute("SELECT record FROM devices").fetchone()
    fields = json.loads(text)
    fields["puf"]["n_ro"] = 512
    db.execute(
        "UPDATE devices SET record = ?",
        (json.dumps(fields, sort_keys=True, separators=(",", ":")),),
    )
    db.commit()
    db.close()
    with Registry(tmp_path / "r.db", MASTER) as reg:
        with pytest.raises(RegistryError, match="fails its owner signature"):
            reg.record("dev-a")


def test_key_blob_moved_to_another_record_does_not_decrypt(tmp_path, owner):
    with Registry(tmp_path / "r.db", MASTER) as reg:
        reg.enroll(make_record("dev-a", owner), bytes(32), owner)
        reg.enroll(make_record("dev-b", owner), bytes([1]) * 32, owner)
    db = sqlite3.connect(tmp_path / "r.db")
    (blob,) = db.execute("SELECT key_blob FROM devices WHERE device_id = 'dev-a'").fetchone()
    db.execute("UPDATE devices SET key_blob = ? WHERE device_id = 'dev-b'", (blob,))
    db.commit()
    db.close()
    with Registry(tmp_path / "r.db", MASTER) as reg:
        with pytest.raises(RegistryError, match="cannot decrypt the key of 'dev-b'"):
            reg.attestation_key("dev-b")


def test_duplicate_and_wrong_owner(tmp_path, owner):
    with Registry(tmp_path / "r.db", MASTER) as reg:
        reg.enroll(make_record("dev-a", owner), bytes(32), owner)
        with pytest.raises(RegistryError, match="'dev-a' is already enrolled"):
            reg.enroll(make_record("dev-a", owner), bytes(32), owner)
        stranger = Ed25519PrivateKey.generate()
        with pytest.raises(RegistryError, match="not the owner named in the record of 'dev-c'"):
            reg.enroll(make_record("dev-c", owner), bytes(32), stranger)
        with pytest.raises(RegistryError, match="'dev-x' is not enrolled"):
            reg.record("dev-x")


def test_migrates_a_version_1_registry(tmp_path, owner):
    path = tmp_path / "old.db"
    record = make_record("dev-old", owner)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    for statement in registry.MIGRATIONS[0]:
        db.execute(statement)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.commit()
    db.close()
    # Write the row with the current code's encryption, as a version-1 ropuf would have.
    with Registry(tmp_path / "scratch.db", MASTER) as scratch:
        scratch.enroll(record, bytes([7]) * 32, owner)
        row = scratch._db.execute("SELECT record, signature, key_blob FROM devices").fetchone()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO devices VALUES ('dev-old', ?, ?, ?)", row)
    db.commit()
    db.close()
    with Registry(path, MASTER) as reg:
        assert reg.schema_version() == registry.SCHEMA_VERSION  # every migration ran
        assert reg.attestation_key("dev-old") == bytes([7]) * 32
        # Version 5 filled in the owner from the signed record; table nonces is gone.
        assert reg.device_state("dev-old").owner == owner.public_key().public_bytes_raw().hex()
        tables = {row[0] for row in reg._db.execute("SELECT name FROM sqlite_master")}
        assert "nonces" not in tables and {"tokens", "attestations"} <= tables


def test_refuses_a_newer_schema(tmp_path):
    path = tmp_path / "new.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    db.commit()
    db.close()
    with pytest.raises(RegistryError, match="schema version 99, newer than this ropuf knows"):
        Registry(path, MASTER)


def test_not_a_database(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RegistryError, match="is not a usable registry"):
        Registry(path, MASTER)


def test_export_import(tmp_path, owner):
    with Registry(tmp_path / "a.db", MASTER) as reg:
        reg.enroll(make_record("dev-a", owner), bytes([3]) * 32, owner)
        reg.enroll(make_record("dev-b", owner), bytes([4]) * 32, owner)
        exported = reg.export_json()
    assert bytes([3]).hex() * 32 not in exported
    with Registry(tmp_path / "b.db", MASTER) as other:
        assert other.import_json(exported) == ["dev-a", "dev-b"]
        assert other.attestation_key("dev-b") == bytes([4]) * 32
    with Registry(tmp_path / "c.db", bytes(32)) as foreign:
        with pytest.raises(RegistryError, match="does not decrypt under this master key"):
            foreign.import_json(exported)
        assert foreign.devices() == []
    tampered = json.loads(exported)
    tampered["devices"][1]["record"]["device_id"] = "dev-z"
    with Registry(tmp_path / "d.db", MASTER) as reg:
        with pytest.raises(RegistryError, match="fails its owner signature"):
            reg.import_json(json.dumps(tampered))
        assert reg.devices() == []  # all or nothing
        with pytest.raises(RegistryError, match="not a ropuf registry export"):
            reg.import_json("[1, 2]")


def test_master_key_sources(tmp_path, monkeypatch):
    monkeypatch.delenv(registry.MASTER_KEY_ENV, raising=False)
    with pytest.raises(
        RegistryError, match="no master key: give a key file or set ROPUF_MASTER_KEY"
    ):
        registry.load_master_key()
    key = registry.generate_master_key()
    monkeypatch.setenv(registry.MASTER_KEY_ENV, key)
    assert registry.load_master_key() == bytes.fromhex(key)
    (tmp_path / "k").write_text("zz" * 32)
    with pytest.raises(RegistryError) as info:
        registry.load_master_key(tmp_path / "k")
    assert "must hold 64 hex digits" in str(info.value) and "zz" not in str(info.value)
    with pytest.raises(RegistryError, match="cannot read the master key file"):
        registry.load_master_key(tmp_path / "missing")


def test_crp_table_encrypts_and_binds_responses(tmp_path):
    path = tmp_path / "r.db"
    owner = Ed25519PrivateKey.generate()
    with Registry(path, MASTER) as reg:
        reg.enroll(make_record("arb-a", owner), bytes(32), owner)
        crps = [(bytes([i]) * 8, i % 2) for i in range(10)]
        assert reg.add_crps("arb-a", crps) == 10
        assert reg.add_crps("arb-a", [*crps[:3], (b"\x77" * 8, 1)]) == 1  # known ones skipped
        with pytest.raises(RegistryError, match="response 0 or 1"):
            reg.add_crps("arb-a", [(b"\x01" * 8, 2)])
        with pytest.raises(RegistryError, match="not enrolled"):
            reg.take_crps("nobody", 1)
        with pytest.raises(RegistryError, match="at least 1"):
            reg.take_crps("arb-a", 0)
    db = sqlite3.connect(path)
    stored = db.execute("SELECT challenge, response FROM crps ORDER BY rowid").fetchall()
    # The response is sealed: 12-byte nonce, 1 byte, 16-byte tag.
    assert all(len(blob) == 29 for _, blob in stored)
    # Copy one response onto another challenge: bound to its own challenge, it does not decrypt.
    db.execute("UPDATE crps SET response = ? WHERE challenge = ?", (stored[1][1], stored[0][0]))
    db.commit()
    db.close()
    with Registry(path, MASTER) as reg:
        with pytest.raises(RegistryError, match="cannot decrypt a CRP of 'arb-a'"):
            reg.take_crps("arb-a", 1)
        assert reg.take_crps("arb-a", 2) == [(bytes([1]) * 8, 1), (bytes([2]) * 8, 0)]
    with Registry(path, bytes(32)) as reg:
        with pytest.raises(RegistryError, match="wrong master key"):
            reg.take_crps("arb-a", 1)


def test_migrates_a_version_2_registry(tmp_path):
    """A registry of the previous schema (devices, nonces) gains the CRP table, keeps its data."""
    old = tmp_path / "v2.db"
    owner = Ed25519PrivateKey.generate()
    with Registry(tmp_path / "scratch.db", MASTER) as scratch:
        scratch.enroll(make_record("dev-old", owner), bytes(32), owner)
        row = scratch._db.execute(
            "SELECT device_id, record, signature, key_blob, enrolled_at FROM devices"
        ).fetchone()
    db = sqlite3.connect(old)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    for statements in registry.MIGRATIONS[:2]:
        for statement in statements:
            db.execute(statement)
    db.execute("INSERT INTO meta VALUES ('schema_version', '2')")
    db.execute("INSERT INTO devices VALUES (?, ?, ?, ?, ?)", row)
    db.execute("INSERT INTO nonces (device_id, nonce) VALUES ('dev-old', ?)", (b"n" * 32,))
    db.commit()
    assert "crps" not in {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    with Registry(old, MASTER) as reg:
        assert reg.schema_version() == registry.SCHEMA_VERSION == 7
        assert reg.devices() == ["dev-old"] and reg.attestation_key("dev-old") == bytes(32)
        # Version 7: the certificates table, empty for a device enrolled before it.
        assert reg.certificate("dev-old") is None and reg.certificates() == []
        # Table nonces is dropped; a nonce it held was never issued into challenges, so a
        # verifier refuses it as unknown (still not accepted).
        assert reg.spend_challenge(b"n" * 32, time.time()) is None
        assert reg.add_crps("dev-old", [(b"c" * 8, 1)]) == 1
        assert reg.take_crps("dev-old", 1) == [(b"c" * 8, 1)]
    with Registry(old, MASTER) as reg:  # reopening runs no migration twice
        assert reg.schema_version() == 7 and reg.crp_counts("dev-old") == (0, 1)


CRASHER = textwrap.dedent(
    """
    import sys
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from ropuf.host.registry import EnrollmentRecord, Registry
    owner = Ed25519PrivateKey.generate()
    with Registry(sys.argv[1], bytes(range(32))) as reg:
        for i in range(100000):
            record = EnrollmentRecord(
                f"dev-{i:06d}", "2026-11-24T12:00:00+00:00", {"i": i}, bytes(500),
                owner.public_key().public_bytes_raw(),
            )
            reg.enroll(record, bytes([i % 256]) * 32, owner)
            print(i, flush=True)
    """
)


def test_killed_mid_enrollment_leaves_no_half_record(tmp_path):
    path = tmp_path / "crash.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHER, str(path)], stdout=subprocess.PIPE, text=True
    )
    acknowledged = -1
    deadline = time.monotonic() + 30
    while acknowledged < 50 and time.monotonic() < deadline:
        acknowledged = int(child.stdout.readline())
    child.send_signal(signal.SIGKILL)
    child.wait()
    with Registry(path, MASTER) as reg:
        devices = reg.devices()
        # Every acknowledged enrollment is there; at most one more (committed, not yet printed).
        assert acknowledged + 1 <= len(devices) <= acknowledged + 2
        for device_id in devices:  # and every record is whole: it verifies and its key decrypts
            index = int(device_id.removeprefix("dev-"))
            assert reg.attestation_key(device_id) == bytes([index % 256]) * 32


def two_devices(path, owner):
    """A registry file with dev-a (key A...) and dev-b (key B...)."""
    with Registry(path, MASTER) as reg:
        reg.enroll(make_record("dev-a", owner), b"A" * 32, owner)
        reg.enroll(make_record("dev-b", owner), b"B" * 32, owner)


def tamper(path, statement, *parameters):
    db = sqlite3.connect(path)
    db.execute(statement, parameters)
    db.commit()
    db.close()


def test_a_relabelled_row_is_refused(tmp_path, owner):
    """The device_id column is bound to the signed record: renaming a row does not rename the
    device."""
    path = tmp_path / "r.db"
    two_devices(path, owner)
    tamper(path, "UPDATE devices SET device_id = 'dev-9' WHERE device_id = 'dev-a'")
    with Registry(path, MASTER) as reg:
        assert reg.devices() == ["dev-9", "dev-b"]
        message = "the row 'dev-9' holds the signed record of 'dev-a'"
        with pytest.raises(RegistryError, match=message):
            reg.record("dev-9")
        with pytest.raises(RegistryError, match=message):
            reg.attestation_key("dev-9")
        with pytest.raises(RegistryError, match=message):
            reg.export_json()
        assert reg.attestation_key("dev-b") == b"B" * 32  # the other rows still work


def test_a_record_replaced_under_another_owner_key_is_refused(tmp_path, owner):
    """The owner's public key travels inside the record it signs: a record for the same device
    and time with other helper data, signed by a fresh key and written into the row, passes its
    own signature, but not the key blob sealed with the original record's digest."""
    path = tmp_path / "r.db"
    two_devices(path, owner)
    forger = Ed25519PrivateKey.generate()
    forged = dataclasses.replace(make_record("dev-a", forger), helper_data=b"forged helper data")
    tamper(
        path,
        "UPDATE devices SET record = ?, signature = ? WHERE device_id = 'dev-a'",
        forged.canonical().decode(),
        forger.sign(forged.canonical()),
    )
    with Registry(path, MASTER) as reg:
        message = "cannot decrypt the key of 'dev-a': wrong master key, or the registry was"
        with pytest.raises(RegistryError, match=message):
            reg.record("dev-a")
        with pytest.raises(RegistryError, match=message):
            reg.export_json()
        assert reg.record("dev-b").helper_data == bytes(range(200))


def test_swapped_ids_are_refused(tmp_path, owner):
    path = tmp_path / "r.db"
    two_devices(path, owner)
    tamper(path, "UPDATE devices SET device_id = 'swap' WHERE device_id = 'dev-a'")
    tamper(path, "UPDATE devices SET device_id = 'dev-a' WHERE device_id = 'dev-b'")
    tamper(path, "UPDATE devices SET device_id = 'dev-b' WHERE device_id = 'swap'")
    with Registry(path, MASTER) as reg:
        with pytest.raises(RegistryError, match="row 'dev-a' holds the signed record of 'dev-b'"):
            reg.attestation_key("dev-a")
        with pytest.raises(RegistryError, match="row 'dev-b' holds the signed record of 'dev-a'"):
            reg.record("dev-b")


def test_a_changed_enrolled_at_is_refused(tmp_path, owner):
    path = tmp_path / "r.db"
    two_devices(path, owner)
    tamper(path, "UPDATE devices SET enrolled_at = '2020-01-01' WHERE device_id = 'dev-a'")
    with Registry(path, MASTER) as reg:
        with pytest.raises(RegistryError, match=r"enrolled_at of 'dev-a' .* signed record"):
            reg.record("dev-a")
        assert reg.record("dev-b").enrolled_at == "2026-11-24T12:00:00+00:00"
    tamper(path, "UPDATE devices SET enrolled_at = NULL WHERE device_id = 'dev-b'")
    with Registry(path, MASTER) as reg:
        with pytest.raises(RegistryError, match=r"enrolled_at of 'dev-b' .* signed record"):
            reg.attestation_key("dev-b")


def flips(text: str):
    """Every position of *text* changed to a few other characters: structure, quotes, digits,
    base64 letters, a neighbouring code point."""
    for i, char in enumerate(text):
        for other in ('"', "{", ",", "0", "A", "\\", chr(ord(char) ^ 1)):
            if other != char:
                yield text[:i] + other + text[i + 1 :]


def test_every_changed_byte_of_a_record_is_a_registry_error(tmp_path, owner):
    """A single changed character anywhere in the stored record text, whether it breaks the
    JSON, a field name, a base64 field or a value, gives RegistryError (never JSONDecodeError,
    KeyError, a base64 error ...), and the verifier a failed result with that reason."""
    from ropuf.host.attestation import Verifier

    path = tmp_path / "r.db"
    owner_record = EnrollmentRecord(
        "dev-a", "2026-11-24T12:00:00+00:00", {"n_ro": 256}, bytes(range(30)),
        owner.public_key().public_bytes_raw(),
    )  # fmt: skip
    with Registry(path, MASTER) as reg:
        reg.enroll(owner_record, b"A" * 32, owner)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")  # thousands of updates, a few seconds
    (original,) = db.execute("SELECT record FROM devices").fetchone()
    count = 0
    with Registry(path, MASTER) as reg:
        verifier = Verifier(reg)
        for changed in flips(original):
            db.execute("UPDATE devices SET record = ?", (changed,))
            with pytest.raises(RegistryError, match="enrollment record of 'dev-a'"):
                reg.record("dev-a")
            if count % 5 == 0:
                result = verifier.attest("dev-a", SoftKeyDevice(b"A" * 32))
                assert not result.ok and "enrollment record of 'dev-a'" in result.reason
            count += 1
        assert count > 6 * len(original)
        # Not text at all, or a signature that is not bytes.
        db.execute("UPDATE devices SET record = CAST(? AS BLOB)", (original,))
        with pytest.raises(RegistryError, match="enrollment record of 'dev-a' is not text"):
            reg.record("dev-a")
        db.execute("UPDATE devices SET record = ?, signature = 'sig'", (original,))
        with pytest.raises(RegistryError, match="signature of 'dev-a' is not bytes"):
            reg.record("dev-a")
    db.close()


def test_a_malformed_key_blob_is_a_registry_error(tmp_path, owner):
    path = tmp_path / "r.db"
    two_devices(path, owner)
    for blob in (b"", b"\x00" * 5, b"\x00" * 59, "text"):
        tamper(path, "UPDATE devices SET key_blob = ? WHERE device_id = 'dev-a'", blob)
        with Registry(path, MASTER) as reg:
            with pytest.raises(RegistryError, match="key of 'dev-a'"):
                reg.attestation_key("dev-a")


class SoftKeyDevice:
    """Answers nonces with the MAC of a known key over the helper data of make_record."""

    def __init__(self, key: bytes, helper: bytes = bytes(range(30))):
        self.key = key
        self.helper = helper

    def attest(self, nonce: bytes) -> bytes:
        from ropuf.spec.attestation import attestation_mac

        return attestation_mac(self.key, self.helper, nonce)


def test_a_malformed_export_is_a_registry_error(tmp_path, owner):
    """Damaged entries of an export are refused with the registry's error, nothing is added."""
    with Registry(tmp_path / "a.db", MASTER) as reg:
        reg.enroll(make_record("dev-a", owner), b"A" * 32, owner)
        exported = json.loads(reg.export_json())
    damaged = [
        ({"devices": {"x": 1}}, "'devices' is not a list"),
        ({"devices": [1]}, "device 0 of the export is malformed"),
        ({"devices": [{"record": {}}]}, "device 0 of the export is malformed"),
    ]
    entry = exported["devices"][0]
    for name, value, expected in (
        ("signature", "@@@@", "signature of device 0 of the export is not base64"),
        ("key_blob", 7, "key_blob of device 0 of the export is not base64"),
        ("key_blob", "AAAA", "key of 'dev-a' in the export is malformed"),
        ("record", [1], "enrollment record of an imported device is unreadable"),
        ("device_id", "dev-9", "named 'dev-9' but holds the signed record of 'dev-a'"),
    ):
        damaged.append(({"devices": [{**entry, name: value}]}, expected))
    with Registry(tmp_path / "b.db", MASTER) as reg:
        for document, expected in damaged:
            with pytest.raises(RegistryError, match=expected):
                reg.import_json(json.dumps(document))
        assert reg.devices() == []
        assert reg.import_json(json.dumps(exported)) == ["dev-a"]


def test_migrates_a_version_3_registry(tmp_path, owner):
    """A version-3 registry whose row came from version 1 (enrolled_at NULL) reaches version 4:
    enrolled_at is taken from the signed record, and the verifier can issue nonces."""
    from ropuf.host.attestation import Verifier

    old = tmp_path / "v3.db"
    with Registry(tmp_path / "scratch.db", MASTER) as scratch:
        scratch.enroll(make_record("dev-old", owner), b"A" * 32, owner)
        row = scratch._db.execute("SELECT device_id, record, signature, key_blob FROM devices")
        row = row.fetchone()
    db = sqlite3.connect(old)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    for statements in registry.MIGRATIONS[:3]:
        for statement in statements:
            db.execute(statement)
    db.execute("INSERT INTO meta VALUES ('schema_version', '3')")
    db.execute(
        "INSERT INTO devices (device_id, record, signature, key_blob) VALUES (?, ?, ?, ?)", row
    )
    db.commit()
    db.close()
    with Registry(old, MASTER) as reg:
        assert reg.schema_version() == registry.SCHEMA_VERSION
        (enrolled_at,) = reg._db.execute("SELECT enrolled_at FROM devices").fetchone()
        assert enrolled_at == make_record("dev-old", owner).enrolled_at
        result = Verifier(reg).attest("dev-old", SoftKeyDevice(b"A" * 32, bytes(range(200))))
        assert result.ok, result.reason
