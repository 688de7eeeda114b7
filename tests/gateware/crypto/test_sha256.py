# amaranth: UnusedElaboratable=no
"""The SHA-256 core in Amaranth's simulator, against hashlib and the NIST vectors.

Every run also checks the digest port: the digest stays offered, unchanged, until it is taken,
reads the same a byte at a time (``digest_shift``), and the core never takes a byte while it
offers a digest.
"""

import hashlib
import random
from dataclasses import dataclass

import pytest
from amaranth.sim import Simulator

from ropuf.gateware.crypto.sha256 import SHA256, blocks, digest_cycles
from ropuf.sim.testbenches.sha256 import nist_hash_vectors

#: Where the padding changes shape: empty, one byte, the longest one-block message (55), the
#: shortest that needs a padding block (56), block boundaries and one past them.
EDGE_LENGTHS = [0, 1, 55, 56, 63, 64, 65, 119, 120, 128]


def reference(message: bytes) -> int:
    return int.from_bytes(hashlib.sha256(message).digest(), "big")


def reference_bytes(digest: int) -> bytes:
    return digest.to_bytes(32, "big")


@dataclass(frozen=True)
class Hashed:
    """What the core returned for one message.

    Attributes
    ----------
    digest : int
        The digest read a byte at a time from the digest port.
    cycles : int
        From the clock edge that took the first beat to the first edge with ``o_digest.valid``.
    idle_ready : int
        Cycles within that span in which the core was ready but no beat was offered.
    """

    digest: int
    cycles: int
    idle_ready: int


def beats(message: bytes, *, empty_end: bool) -> list[dict[str, int]]:
    """The stream beats of *message*: ``last`` on the final byte, or a closing ``empty`` beat
    (with junk in ``data`` and ``last``, which the core must ignore)."""
    if message and not empty_end:
        return [
            {"data": byte, "last": int(i == len(message) - 1), "empty": 0}
            for i, byte in enumerate(message)
        ]
    return [{"data": byte, "last": 0, "empty": 0} for byte in message] + [
        {"data": 0x5A, "last": 1, "empty": 1}
    ]


def hash_all(
    messages: list[bytes],
    *,
    empty_end: bool = False,
    rng: random.Random | None = None,
    whole: bool = True,
) -> list[Hashed]:
    """Hash *messages* one after the other on one core. With *rng*, the source leaves gaps
    between beats and the sink waits before it takes each digest. The digest returned is the
    one read a byte at a time (``digest_shift``); with *whole*, the payload must also show all
    of it at once (the fast core; the compact one shows the current byte only)."""
    dut = SHA256()
    results: list[Hashed] = []
    watched = []

    async def watch(ctx):
        async for _, _, valid, ready in ctx.tick().sample(dut.o_digest.valid, dut.i_stream.ready):
            assert not (valid and ready), "the core takes bytes while it offers a digest"
            watched.append(valid)

    async def testbench(ctx):
        now = 0
        for message in messages:
            first = None
            idle_ready = 0
            for beat in beats(message, empty_end=empty_end):
                while rng is not None and rng.random() < 0.2:
                    ctx.set(dut.i_stream.valid, 0)
                    _, _, ready = await ctx.tick().sample(dut.i_stream.ready)
                    now += 1
                    idle_ready += ready and first is not None
                ctx.set(dut.i_stream.valid, 1)
                ctx.set(dut.i_stream.payload, beat)
                while True:
                    _, _, ready = await ctx.tick().sample(dut.i_stream.ready)
                    now += 1
                    if ready:
                        break
                if first is None:
                    first = now
            ctx.set(dut.i_stream.valid, 0)
            while True:
                _, _, ready, valid, digest = await ctx.tick().sample(
                    dut.i_stream.ready, dut.o_digest.valid, dut.o_digest.payload
                )
                now += 1
                assert not ready, "the core takes bytes before the digest is out"
                if valid:
                    break
            cycles = now - first
            for _ in range(rng.randrange(5) if rng is not None else 0):
                _, _, valid, payload = await ctx.tick().sample(
                    dut.o_digest.valid, dut.o_digest.payload
                )
                now += 1
                assert (valid, payload) == (1, digest), "digest not held until taken"
            # Read a byte at a time (digest_shift): byte j on top after j shifts; 32 shifts
            # bring the payload back to what it first was, which the take below checks.
            read = bytearray()
            for _ in range(32):
                assert ctx.get(dut.o_digest.valid)
                read.append(ctx.get(dut.o_digest.payload) >> 248)
                ctx.set(dut.digest_shift, 1)
                await ctx.tick()
                now += 1
            if whole:
                assert bytes(read) == reference_bytes(digest)
            results.append(Hashed(int.from_bytes(read, "big"), cycles, idle_ready))
            ctx.set(dut.digest_shift, 0)
            ctx.set(dut.o_digest.ready, 1)
            _, _, valid, payload = await ctx.tick().sample(dut.o_digest.valid, dut.o_digest.payload)
            now += 1
            assert (valid, payload) == (1, digest)
            ctx.set(dut.o_digest.ready, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(watch, background=True)
    sim.add_testbench(testbench)
    sim.run()
    assert len(results) == len(messages)
    # The watcher ran: it saw each digest offered (first seen, then taken).
    assert sum(watched) >= 2 * len(messages)
    return results


@pytest.mark.parametrize("empty_end", [False, True], ids=["last", "empty-beat"])
def test_edge_lengths_match_hashlib(empty_end):
    rng = random.Random(17 + empty_end)
    messages = [rng.randbytes(n) for n in [*EDGE_LENGTHS, 200, 1000]]
    results = hash_all(messages, empty_end=empty_end)
    assert [r.digest for r in results] == [reference(m) for m in messages]
    assert [r.cycles for r in results] == [digest_cycles(len(m)) for m in messages]


def test_nist_short_messages():
    vectors = nist_hash_vectors("SHA256ShortMsg.rsp")
    assert len(vectors) == 65  # Len = 0, 8, ..., 512 bits
    results = hash_all([v.message for v in vectors])
    for vector, result in zip(vectors, results, strict=True):
        assert result.digest.to_bytes(32, "big") == vector.expected, vector.name


def test_nist_shortest_long_messages():
    # The longest vectors run in Verilator (test_sha256_verilator.py); the three shortest here.
    vectors = sorted(nist_hash_vectors("SHA256LongMsg.rsp"), key=lambda v: len(v.message))[:3]
    results = hash_all([v.message for v in vectors])
    for vector, result in zip(vectors, results, strict=True):
        assert result.digest.to_bytes(32, "big") == vector.expected, vector.name


def test_stalls_change_timing_not_digests():
    rng = random.Random(5)
    messages = [rng.randbytes(n) for n in [0, 3, 55, 56, 64, 130]]
    results = hash_all(messages, empty_end=False, rng=random.Random(6))
    assert [r.digest for r in results] == [reference(m) for m in messages]
    # Each cycle the core was ready and got nothing delays the digest by exactly one cycle.
    assert [r.cycles for r in results] == [
        digest_cycles(len(m)) + r.idle_ready for m, r in zip(messages, results, strict=True)
    ]
    assert sum(r.idle_ready for r in results) > 0


@pytest.mark.parametrize("length", [0, 32, 64, 100])
def test_cycle_count_depends_on_length_only(length):
    rng = random.Random(length)
    messages = [bytes(length), b"\xff" * length, rng.randbytes(length), rng.randbytes(length)]
    full_rate = hash_all(messages)
    assert [r.digest for r in full_rate] == [reference(m) for m in messages]
    assert {r.cycles for r in full_rate} == {digest_cycles(length)}
    assert digest_cycles(length) == 128 * blocks(length) + 8
    # The same stall pattern on different data: the same cycles, message by message.
    stalled = [hash_all([m], rng=random.Random(99))[0] for m in messages]
    assert len({r.cycles for r in stalled}) == 1
    assert [r.digest for r in stalled] == [reference(m) for m in messages]
