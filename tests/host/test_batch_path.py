"""The verifier's batch path (``Verifier.verify_many``): one statement spends every nonce,
one query reads the devices, one statement logs the verdicts, one commit; the in-memory cache
of verified records and keys (``host/registry_cache.py``) and that it never hides a changed
row; on SQLite and PostgreSQL (``registry_target``)."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host.attestation import Verifier
from ropuf.host.registry import Registry
from ropuf.host.registry_cache import VerifiedCache
from ropuf.spec.attestation import attestation_mac
from tests.host.test_registry_service import KEY, MASTER, enrol


@pytest.fixture
def reg(registry_target):
    with Registry(registry_target, MASTER) as registry:
        yield registry


def mac(device_id: str, nonce: bytes, key: bytes = KEY) -> bytes:
    return attestation_mac(key, b"helper " + device_id.encode(), nonce)


class Counting:
    """Wraps a registry's database and counts its statements by their first words."""

    def __init__(self, db):
        self.db, self.statements = db, []

    def execute(self, sql, params=()):
        self.statements.append(" ".join(sql.split()[:2]))
        return self.db.execute(sql, params)

    def insert_many(self, table, columns, rows):
        self.statements.append(f"INSERT {table}")
        return self.db.insert_many(table, columns, rows)

    def begin(self):
        self.statements.append("BEGIN")
        self.db.begin()

    def commit(self):
        self.statements.append("COMMIT")
        self.db.commit()

    def __getattr__(self, name):
        return getattr(self.db, name)


def test_a_batch_is_four_statements_and_one_commit(reg):
    owner = Ed25519PrivateKey.generate()
    for name in ("d1", "d2", "d3"):
        enrol(reg, name, owner)
    verifier = Verifier(reg)
    nonces = [verifier.issue_nonce(f"d{1 + i % 3}") for i in range(300)]
    reg.revoke("d3", 1.0)
    answers = [(f"d{1 + i % 3}", n, mac(f"d{1 + i % 3}", n)) for i, n in enumerate(nonces)]
    answers[1] = ("d2", nonces[1], mac("d2", nonces[1], b"x" * 32))  # a wrong key
    answers.append(answers[0])  # the same nonce twice in one batch: a replay the second time
    answers.append(("d1", b"short", b""))
    answers.append(("d1", bytes(32), mac("d1", bytes(32))))  # never issued
    answers.append(("ghost", nonces[0][::-1], b""))
    counting = Counting(reg._db)
    reg._db = counting
    try:
        results = verifier.verify_many(answers)
    finally:
        reg._db = counting.db
    # BEGIN, the spend, the SELECT of what it did not spend, the devices, the log, COMMIT.
    assert counting.statements == [
        "BEGIN", "UPDATE challenges", "SELECT nonce,", "SELECT device_id,",
        "INSERT attestations", "COMMIT",
    ]  # fmt: skip
    reasons = [r.reason for r in results]
    assert reasons[0] == "ok" and reasons[3] == "ok"
    assert reasons[1] == "MAC mismatch: not the enrolled device"
    assert set(reasons[2:300:3]) == {"revoked device: it no longer attests"}
    assert reasons[300] == "replayed nonce: it was used before"
    assert reasons[301] == "nonce must be 32 bytes"
    assert reasons[302].startswith("unknown nonce") and reasons[303].startswith("unknown nonce")
    assert sum(r.ok for r in results) == 199  # 300 less 100 revoked less 1 wrong key
    logged = reg._db.execute("SELECT COUNT(*), SUM(ok) FROM attestations").fetchone()
    assert tuple(logged) == (len(answers), 199)
    # every nonce of the batch is spent: offered again, all are replays
    again = verifier.verify_many(answers[:300])
    assert {r.reason for r in again} == {"replayed nonce: it was used before"}


def test_the_cache_never_hides_a_changed_row(reg):
    owner = Ed25519PrivateKey.generate()
    enrol(reg, "d1", owner)
    enrol(reg, "d2", owner)
    verifier = Verifier(reg)
    nonce = verifier.issue_nonce("d1")
    assert verifier.verify("d1", nonce, mac("d1", nonce)).ok
    assert len(reg._verified) == 1
    # d2's sealed key moved into d1's row: the cached d1 must not answer for it
    reg._db.execute(
        "UPDATE devices SET key_blob = (SELECT key_blob FROM devices WHERE device_id = 'd2')"
        " WHERE device_id = 'd1'"
    )
    nonce = verifier.issue_nonce("d1")
    result = verifier.verify("d1", nonce, mac("d1", nonce))
    assert not result.ok and "cannot decrypt the key of 'd1'" in result.reason
    assert KEY.hex() not in repr(reg._verified) + repr(reg.__dict__)


def test_the_cache_is_bounded():
    cache = VerifiedCache(2)
    for name in ("a", "b", "c"):
        cache.put(name, (name,), name.upper())
    assert len(cache) == 2 and cache.get("a", ("a",)) is None and cache.get("c", ("c",)) == "C"
    assert cache.get("c", ("changed",)) is None
    off = VerifiedCache(0)
    off.put("a", ("a",), "A")
    assert off.get("a", ("a",)) is None
    with pytest.raises(ValueError, match="whole number"):
        VerifiedCache(-1)


def test_overlapping_batches_at_once_spend_each_nonce_once(registry_target):
    """Four connections verify batches of one set of nonces at once, each in its own order:
    every nonce is accepted exactly once, and no batch fails (no deadlock on PostgreSQL)."""
    import random
    import threading

    owner = Ed25519PrivateKey.generate()
    with Registry(registry_target, MASTER) as registry:
        enrol(registry, "d1", owner)
        verifier = Verifier(registry)
        nonces = [verifier.issue_nonce("d1") for _ in range(400)]
    answers = [("d1", nonce, mac("d1", nonce)) for nonce in nonces]
    start = threading.Barrier(4)
    accepted, failures = [], []

    def batches(seed: int) -> None:
        mine = answers[:]
        random.Random(seed).shuffle(mine)
        try:
            with Registry(registry_target, MASTER) as registry:
                if registry._db.dialect == "sqlite":
                    registry._db.execute("PRAGMA busy_timeout = 20000")
                start.wait()
                for first in range(0, len(mine), 100):
                    chunk = mine[first : first + 100]
                    results = Verifier(registry).verify_many(chunk)
                    accepted.extend(a[1] for a, r in zip(chunk, results, strict=True) if r.ok)
        except Exception as exc:  # reported below
            failures.append(repr(exc))

    threads = [threading.Thread(target=batches, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert sorted(accepted) == sorted(nonces)  # each once, none lost
