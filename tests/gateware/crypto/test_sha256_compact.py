# amaranth: UnusedElaboratable=no
"""The compact SHA-256 core in Amaranth's simulator, against hashlib and the NIST vectors.

The stream driver and the checks on the digest port are those of ``test_sha256.py`` (its
``hash_all``, run on :class:`SHA256Compact` in place of :class:`SHA256`).
"""

import random

import pytest

from ropuf.gateware.crypto import sha256_compact
from ropuf.gateware.crypto.sha256 import blocks
from ropuf.gateware.crypto.sha256_compact import BLOCK_CYCLES, SHA256Compact, digest_cycles
from ropuf.sim.testbenches.sha256 import nist_hash_vectors

from . import test_sha256
from .test_sha256 import EDGE_LENGTHS, reference


@pytest.fixture(autouse=True)
def compact_core(monkeypatch):
    # hash_all builds `SHA256()`: point it at the compact core for these tests.
    monkeypatch.setattr(test_sha256, "SHA256", SHA256Compact)


def hash_all(messages, **kwargs):
    # The compact core shows the digest a byte at a time only.
    return test_sha256.hash_all(messages, whole=False, **kwargs)


@pytest.mark.parametrize("empty_end", [False, True], ids=["last", "empty-beat"])
def test_edge_lengths_match_hashlib(empty_end):
    rng = random.Random(17 + empty_end)
    messages = [rng.randbytes(n) for n in [*EDGE_LENGTHS, 200]]
    results = hash_all(messages, empty_end=empty_end)
    assert [r.digest for r in results] == [reference(m) for m in messages]
    assert [r.cycles for r in results] == [digest_cycles(len(m)) for m in messages]


def test_nist_short_messages():
    vectors = nist_hash_vectors("SHA256ShortMsg.rsp")
    assert len(vectors) == 65
    # Every fourth vector (all lengths 0..64 bytes run in test_edge_lengths' neighbours).
    chosen = vectors[::4]
    results = hash_all([v.message for v in chosen])
    for vector, result in zip(chosen, results, strict=True):
        assert result.digest.to_bytes(32, "big") == vector.expected, vector.name


def test_nist_shortest_long_message():
    vector = min(nist_hash_vectors("SHA256LongMsg.rsp"), key=lambda v: len(v.message))
    (result,) = hash_all([vector.message])
    assert result.digest.to_bytes(32, "big") == vector.expected, vector.name


def test_stalls_change_timing_not_digests():
    rng = random.Random(5)
    messages = [rng.randbytes(n) for n in [0, 3, 56, 64]]
    results = hash_all(messages, empty_end=False, rng=random.Random(6))
    assert [r.digest for r in results] == [reference(m) for m in messages]
    assert [r.cycles for r in results] == [
        digest_cycles(len(m)) + r.idle_ready for m, r in zip(messages, results, strict=True)
    ]
    assert sum(r.idle_ready for r in results) > 0


@pytest.mark.parametrize("length", [0, 64])
def test_cycle_count_depends_on_length_only(length):
    rng = random.Random(length)
    messages = [bytes(length), b"\xff" * length, rng.randbytes(length)]
    full_rate = hash_all(messages)
    assert [r.digest for r in full_rate] == [reference(m) for m in messages]
    assert {r.cycles for r in full_rate} == {digest_cycles(length)}
    assert digest_cycles(length) == BLOCK_CYCLES * blocks(length)
    assert BLOCK_CYCLES == 64 + 64 * sha256_compact.ROUND_CYCLES + sha256_compact.FINAL_CYCLES


def test_short_length_counter_hashes_short_messages(monkeypatch):
    monkeypatch.setattr(test_sha256, "SHA256", lambda: SHA256Compact(length_bits=13))
    rng = random.Random(3)
    messages = [rng.randbytes(n) for n in (0, 56, 130)]
    assert [r.digest for r in hash_all(messages)] == [reference(m) for m in messages]


@pytest.mark.parametrize("bad", [0, 62, 1.5, True])
def test_length_bits_checked(bad):
    with pytest.raises((TypeError, ValueError), match="length_bits"):
        SHA256Compact(length_bits=bad)


def test_never_reads_the_address_it_writes(monkeypatch):
    # The RAM is synthesised without a read-during-write bypass (no_rw_check): check on every
    # cycle of a few messages, driven by test_sha256's hash_all, that it needs none.
    seen = []
    original = test_sha256.Simulator

    def simulator(dut):
        sim = original(dut)

        async def watch(ctx):
            async for _, _, collision in ctx.tick().sample(dut.rw_collision):
                seen.append(collision)

        sim.add_testbench(watch, background=True)
        return sim

    monkeypatch.setattr(test_sha256, "Simulator", simulator)
    rng = random.Random(9)
    messages = [rng.randbytes(n) for n in (0, 60, 64, 130)]
    results = hash_all(messages)
    assert [r.digest for r in results] == [reference(m) for m in messages]
    assert len(seen) > sum(BLOCK_CYCLES * blocks(len(m)) for m in messages)
    assert not any(seen)
