# amaranth: UnusedElaboratable=no
"""HMAC-SHA256 in Amaranth's simulator, against :mod:`hmac` and the published vectors.

Every run watches the block's outputs on every cycle: ``o_mac.payload`` must be zero unless
``o_mac.valid`` is high, so neither the key, nor anything derived from it, nor the inner digest
ever shows on a port.
"""

import hmac
import random
from dataclasses import dataclass

import pytest
from amaranth.sim import Simulator

from ropuf.gateware.crypto.hmac_sha256 import HMACSHA256, mac_cycles
from ropuf.gateware.crypto.sha256 import blocks
from ropuf.sim.testbenches.sha256 import hmac_vectors


def reference(key: bytes, message: bytes) -> int:
    return int.from_bytes(hmac.digest(key, message, "sha256"), "big")


@dataclass(frozen=True)
class Maced:
    """What the block returned for one message.

    Attributes
    ----------
    mac : int
        The MAC port's payload.
    cycles : int
        From the first clock edge that sees the first beat offered to the first edge with
        ``o_mac.valid``.
    """

    mac: int
    cycles: int


def beats(message: bytes, *, empty_end: bool) -> list[dict[str, int]]:
    if message and not empty_end:
        return [
            {"data": byte, "last": int(i == len(message) - 1), "empty": 0}
            for i, byte in enumerate(message)
        ]
    return [{"data": byte, "last": 0, "empty": 0} for byte in message] + [
        {"data": 0xA5, "last": 0, "empty": 1}
    ]


def mac_all(
    key_bytes: int,
    jobs: list[tuple[bytes, bytes]],
    *,
    empty_end: bool = False,
    rng: random.Random | None = None,
) -> list[Maced]:
    """MAC each (key, message) of *jobs* in turn on one block with a *key_bytes* key port.
    With *rng*, the source leaves gaps and the sink waits before taking each MAC."""
    dut = HMACSHA256(key_bytes=key_bytes)
    results: list[Maced] = []
    watched = []

    async def watch(ctx):
        async for _, _, valid, payload in ctx.tick().sample(dut.o_mac.valid, dut.o_mac.payload):
            assert valid or payload == 0, "MAC port shows data while invalid"
            watched.append(valid)

    async def testbench(ctx):
        now = 0
        for key, message in jobs:
            ctx.set(dut.key, int.from_bytes(key, "big"))
            first = None
            for beat in beats(message, empty_end=empty_end):
                while rng is not None and rng.random() < 0.2:
                    ctx.set(dut.i_stream.valid, 0)
                    await ctx.tick()
                    now += 1
                ctx.set(dut.i_stream.valid, 1)
                ctx.set(dut.i_stream.payload, beat)
                while True:
                    _, _, ready = await ctx.tick().sample(dut.i_stream.ready)
                    now += 1
                    if first is None:
                        first = now
                    if ready:
                        break
            ctx.set(dut.i_stream.valid, 0)
            while True:
                _, _, valid, mac = await ctx.tick().sample(dut.o_mac.valid, dut.o_mac.payload)
                now += 1
                if valid:
                    break
            results.append(Maced(mac, now - first))
            for _ in range(rng.randrange(5) if rng is not None else 0):
                _, _, valid, payload = await ctx.tick().sample(dut.o_mac.valid, dut.o_mac.payload)
                now += 1
                assert (valid, payload) == (1, mac), "MAC not held until taken"
            ctx.set(dut.o_mac.ready, 1)
            _, _, valid, payload = await ctx.tick().sample(dut.o_mac.valid, dut.o_mac.payload)
            now += 1
            assert (valid, payload) == (1, mac)
            ctx.set(dut.o_mac.ready, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(watch, background=True)
    sim.add_testbench(testbench)
    sim.run()
    assert len(results) == len(jobs)
    assert sum(watched) >= 2 * len(jobs)  # the watcher saw every MAC offered, then taken
    return results


@pytest.mark.parametrize("key_bytes", [1, 20, 32, 64])
def test_random_keys_and_messages_match_hmac(key_bytes):
    rng = random.Random(key_bytes)
    jobs = [(rng.randbytes(key_bytes), rng.randbytes(n)) for n in [0, 1, 32, 55, 119, 200]]
    results = mac_all(key_bytes, jobs, empty_end=key_bytes % 2 == 0)
    assert [r.mac for r in results] == [reference(k, m) for k, m in jobs]
    assert [r.cycles for r in results] == [mac_cycles(len(m)) for _, m in jobs]


def test_published_vectors():
    vectors = hmac_vectors()
    assert len(vectors) == 8  # RFC 4231 cases 1-4, NIST HMAC.rsp [L=32] selection
    for vector in vectors:
        # The vectors themselves agree with Python's hmac (the NIST ones were copied by hand).
        full = reference(vector.key, vector.message).to_bytes(32, "big")
        assert full[: len(vector.expected)] == vector.expected, vector.name
        (result,) = mac_all(len(vector.key), [(vector.key, vector.message)])
        tag = result.mac.to_bytes(32, "big")[: len(vector.expected)]
        assert tag == vector.expected, vector.name


def test_short_key_on_a_wider_port_gives_the_same_mac():
    # HMAC pads the key with zeros, so a 20-byte key given as 32 bytes (12 zero bytes
    # appended) is the same key.
    key, message = bytes(range(1, 21)), b"nonce"
    (result,) = mac_all(32, [(key + bytes(12), message)])
    assert result.mac == reference(key, message)


def test_stalls_change_timing_not_macs():
    rng = random.Random(3)
    jobs = [(rng.randbytes(32), rng.randbytes(n)) for n in [0, 31, 64, 100]]
    results = mac_all(32, jobs, rng=random.Random(4))
    assert [r.mac for r in results] == [reference(k, m) for k, m in jobs]


@pytest.mark.parametrize("length", [0, 32])
def test_cycle_count_depends_on_length_only(length):
    rng = random.Random(length)
    jobs = [
        (bytes(32), bytes(length)),
        (b"\xff" * 32, b"\xff" * length),
        (rng.randbytes(32), rng.randbytes(length)),
    ]
    results = mac_all(32, jobs)
    assert [r.mac for r in results] == [reference(k, m) for k, m in jobs]
    assert {r.cycles for r in results} == {mac_cycles(length)}
    assert mac_cycles(length) == 128 * blocks(64 + length) + 274
    stalled = [mac_all(32, [job], rng=random.Random(8))[0] for job in jobs]
    assert len({r.cycles for r in stalled}) == 1
    assert [r.mac for r in stalled] == [reference(k, m) for k, m in jobs]


def test_key_port_width():
    for key_bytes in (1, 32, 64):
        assert len(HMACSHA256(key_bytes=key_bytes).key) == 8 * key_bytes
    assert HMACSHA256().key_bytes == 32


@pytest.mark.parametrize(
    ("key_bytes", "error"),
    [
        (0, "Key length must be between 1 and 64 bytes, not 0"),
        (65, "Key length must be between 1 and 64 bytes, not 65"),
        (-32, "Key length must be between 1 and 64 bytes, not -32"),
    ],
)
def test_key_bytes_out_of_range(key_bytes, error):
    with pytest.raises(ValueError, match=error):
        HMACSHA256(key_bytes=key_bytes)


@pytest.mark.parametrize(
    ("key_bytes", "error"),
    [
        (32.0, r"Key length must be an integer number of bytes, not 32\.0"),
        ("32", r"Key length must be an integer number of bytes, not '32'"),
        (True, r"Key length must be an integer number of bytes, not True"),
    ],
)
def test_key_bytes_not_integer(key_bytes, error):
    with pytest.raises(TypeError, match=error):
        HMACSHA256(key_bytes=key_bytes)
