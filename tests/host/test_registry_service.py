"""The registry's service tables (schema version 5): owners, revocation, the attestation log,
tokens, pruned challenges, and a nonce spent exactly once by concurrent connections; each test
on SQLite and on a real PostgreSQL server (``registry_target``)."""

import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host.attestation import Verifier
from ropuf.host.registry import (
    SCHEMA_VERSION,
    EnrollmentRecord,
    Registry,
    RegistryError,
    StoredToken,
)
from ropuf.spec.attestation import attestation_mac

MASTER = bytes(range(32))
KEY = b"K" * 32


def enrol(reg: Registry, device_id: str, owner: Ed25519PrivateKey) -> None:
    record = EnrollmentRecord(
        device_id, "2026-12-06T00:00:00+00:00", {}, b"helper " + device_id.encode(),
        owner.public_key().public_bytes_raw(),
    )  # fmt: skip
    reg.enroll(record, KEY, owner)


@pytest.fixture
def reg(registry_target):
    with Registry(registry_target, MASTER) as registry:
        yield registry


def hexkey(owner: Ed25519PrivateKey) -> str:
    return owner.public_key().public_bytes_raw().hex()


def test_owner_paging_transfer_and_revocation(reg):
    alice, bob = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    for name in ("d3", "d1", "d2"):
        enrol(reg, name, alice)
    enrol(reg, "b1", bob)
    assert reg.owned_devices(hexkey(alice), "", 2) == ["d1", "d2"]
    assert reg.owned_devices(hexkey(alice), "d2", 2) == ["d3"]
    assert reg.owned_devices(hexkey(bob)) == ["b1"]
    reg.transfer("d1", hexkey(bob).upper())
    assert reg.owned_devices(hexkey(bob)) == ["b1", "d1"]
    assert reg.device_state("d1").owner == hexkey(bob)
    assert reg.record("d1").owner_public_key.hex() == hexkey(alice)  # the signed record stays
    with pytest.raises(RegistryError, match="64 hex digits"):
        reg.transfer("d1", "ab " * 32)
    with pytest.raises(RegistryError, match="'nobody' is not enrolled"):
        reg.transfer("nobody", hexkey(bob))
    assert reg.device_state("nobody") is None
    reg.revoke("d2", 123.0)
    assert reg.device_state("d2").revoked_at == 123.0
    with pytest.raises(RegistryError, match="'d2' was revoked before"):
        reg.revoke("d2", 124.0)


def test_a_revoked_device_gets_no_nonce_and_fails(reg):
    owner = Ed25519PrivateKey.generate()
    enrol(reg, "d1", owner)
    verifier = Verifier(reg)
    nonce = verifier.issue_nonce("d1")
    reg.revoke("d1", time.time())
    with pytest.raises(RegistryError, match="'d1' is revoked"):
        verifier.issue_nonce("d1")
    result = verifier.verify("d1", nonce, attestation_mac(KEY, b"helper d1", nonce))
    assert not result.ok and result.reason == "revoked device: it no longer attests"


def test_every_verdict_is_logged_with_its_spend(reg):
    owner = Ed25519PrivateKey.generate()
    enrol(reg, "d1", owner)
    clock = iter(range(100, 200)).__next__
    verifier = Verifier(reg, clock=lambda: float(clock()))
    assert reg.device_state("d1").last_attestation is None
    nonce = verifier.issue_nonce("d1")
    assert verifier.verify("d1", nonce, attestation_mac(KEY, b"helper d1", nonce)).ok
    last = reg.device_state("d1").last_attestation
    assert last.ok and last.reason == "ok"
    replay = verifier.verify("d1", nonce, attestation_mac(KEY, b"helper d1", nonce))
    assert reg.device_state("d1").last_attestation.reason == replay.reason
    assert reg._db.execute("SELECT COUNT(*), SUM(ok) FROM attestations").fetchone() == (2, 1)


def test_a_batch_is_one_commit(reg):
    """verify_many commits once: a failure before its end leaves no nonce spent, no verdict."""
    owner = Ed25519PrivateKey.generate()
    enrol(reg, "d1", owner)
    verifier = Verifier(reg)
    nonces = [verifier.issue_nonce("d1") for _ in range(3)]
    answers = [("d1", n, attestation_mac(KEY, b"helper d1", n)) for n in nonces]

    def failing():
        yield answers[0]
        yield answers[1]
        raise OSError("the batch broke off")

    with pytest.raises(OSError, match="broke off"):
        verifier.verify_many(failing())
    spent = reg._db.execute("SELECT COUNT(*) FROM challenges WHERE spent_at IS NOT NULL")
    assert spent.fetchone()[0] == 0
    assert reg._db.execute("SELECT COUNT(*) FROM attestations").fetchone()[0] == 0
    commits = []
    commit = reg._db.commit
    reg._db.commit = lambda: (commits.append(1), commit())
    results = verifier.verify_many([*answers, answers[0]])
    del reg._db.commit
    assert [r.ok for r in results] == [True, True, True, False]
    assert results[3].reason == "replayed nonce: it was used before"
    assert len(commits) == 1
    assert reg._db.execute("SELECT COUNT(*) FROM attestations").fetchone()[0] == 4


def test_expired_challenges_are_pruned_and_stay_refused(reg):
    owner = Ed25519PrivateKey.generate()
    enrol(reg, "d1", owner)
    now = [1000.0]
    verifier = Verifier(reg, nonce_lifetime=10, clock=lambda: now[0])
    old = verifier.issue_nonce("d1")
    now[0] = 1005.0
    fresh = verifier.issue_nonce("d1")
    now[0] = 1012.0
    assert reg.prune_challenges(now[0]) == 1
    mac = attestation_mac(KEY, b"helper d1", old)
    assert verifier.verify("d1", old, mac).reason.startswith("unknown nonce")
    assert verifier.verify("d1", fresh, attestation_mac(KEY, b"helper d1", fresh)).ok


def test_tokens_are_stored_by_hash_and_revoked_by_id(reg):
    owner = hexkey(Ed25519PrivateKey.generate())
    stored = StoredToken("0a1b2c3d", owner, ("manage", "attest"), "ci", 5.0, None)
    reg.add_token("h" * 64, stored)
    assert reg.token("h" * 64) == stored and reg.token("x" * 64) is None
    with pytest.raises(RegistryError, match="exists: draw another"):
        reg.add_token("h" * 64, stored)
    reg.revoke_token("0a1b2c3d", 9.0)
    assert reg.token("h" * 64).revoked_at == 9.0 and reg.tokens()[0].revoked_at == 9.0
    with pytest.raises(RegistryError, match="no token '0a1b2c3d' that is not revoked"):
        reg.revoke_token("0a1b2c3d", 10.0)


def test_a_nonce_is_spent_once_by_concurrent_connections(registry_target):
    """16 threads, each with its own connection to one file, spend one nonce together: the
    atomic UPDATE lets exactly one see it pending."""
    owner = Ed25519PrivateKey.generate()
    with Registry(registry_target, MASTER) as reg:
        enrol(reg, "d1", owner)
        nonce = Verifier(reg).issue_nonce("d1")
    mac = attestation_mac(KEY, b"helper d1", nonce)
    start = threading.Barrier(16)
    verdicts = []

    def offer():
        with Registry(registry_target, MASTER) as mine:
            if mine._db.dialect == "sqlite":
                mine._db.execute("PRAGMA busy_timeout = 20000")
            start.wait()
            verdicts.append(Verifier(mine).verify("d1", nonce, mac))

    threads = [threading.Thread(target=offer) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(verdicts) == 16
    assert sum(v.ok for v in verdicts) == 1
    assert {v.reason for v in verdicts if not v.ok} == {"replayed nonce: it was used before"}


def test_concurrent_first_opens_migrate_once(registry_target):
    """Four connections open a new registry at once: one migrates, the others find it done."""
    start = threading.Barrier(4)
    versions = []

    def open_it():
        start.wait()
        with Registry(registry_target, MASTER) as mine:
            versions.append(mine.schema_version())

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert versions == [SCHEMA_VERSION] * 4
    with Registry(registry_target, MASTER) as reg:
        owner = Ed25519PrivateKey.generate()
        enrol(reg, "d1", owner)
        assert reg.attestation_key("d1") == KEY and reg.devices() == ["d1"]
