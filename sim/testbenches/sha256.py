"""cocotb testbench of :class:`~ropuf.gateware.crypto.sha256.SHA256` and
:class:`~ropuf.gateware.crypto.hmac_sha256.HMACSHA256`.

The same tests run on either design: a design with a ``key`` port is the HMAC. The cases (message,
expected digest or tag, and for HMAC the key) come from a JSON file named by ``ROPUF_SHA256_CASES``
(written with :func:`write_cases`); every result is compared with the expected value, which the
pytest side takes from the published vectors or from :mod:`hashlib`/:mod:`hmac`. When
``ROPUF_RESULT`` names a file, the full-rate test writes its figures there as JSON.

This module also reads the published vectors (:func:`nist_hash_vectors`,
:func:`hmac_vectors`), so that the unit tests and the simulations take them from one place.
"""

import json
import os
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly, ValueChange

from ropuf.gateware.crypto.hmac_sha256 import mac_cycles
from ropuf.gateware.crypto.sha256 import digest_cycles
from ropuf.sim.testbenches.bounded import wait_high

__all__ = ["CASES_ENV", "Case", "hmac_vectors", "nist_hash_vectors", "read_cases", "write_cases"]

#: Environment variable naming the JSON file of cases.
CASES_ENV = "ROPUF_SHA256_CASES"

#: Clock period in ps (12 MHz, as on the iCEBreaker; two equal halves).
CLOCK_PS = 83_334

#: Cycles beyond the design's own figure that any wait of a message may take before the test
#: calls the design stuck (the random stalls of the source add to a message's time).
_SLACK_CYCLES = 1_024

#: Published HMAC-SHA256 vectors that cryptography-vectors does not ship: a selection of NIST
#: CAVS 11.0 HMACVS ``HMAC.rsp``, section ``[L=32]``, with Klen <= 64 (Count, Klen, Tlen as
#: published; the tag is the MAC truncated to Tlen bytes).
NIST_HMAC_SHA256 = (
    {
        "name": "HMAC.rsp L=32 Count=0 Klen=40 Tlen=16",
        "key": "6f35628d65813435534b5d67fbdb54cb33403d04e843103e6399f806cb5df95febbdd61236f33245",
        "message": "752cff52e4b90768558e5369e75d97c69643509a5e5904e0a386cbe4d0970ef7"
        "3f918f675945a9aefe26daea27587e8dc909dd56fd0468805f834039b345f855"
        "cfe19c44b55af241fff3ffcd8045cd5c288e6c4e284c3720570b58e4d47b8fee"
        "edc52fd1401f698a209fccfa3b4c0d9a797b046a2759f82a54c41ccd7b5f592b",
        "expected": "05d1243e6465ed9620c9aec1c351a186",
    },
    {
        "name": "HMAC.rsp L=32 Count=33 Klen=40 Tlen=32",
        "key": "5448998f9d8f98534addf0c8ba631c496bf8a8006cbb46ad15fa1fa2f55367120c19348c3afa90c3",
        "message": "1c4396f7b7f9228e832a13692002ba2aff439dcb7fddbfd456c022d133ee8903"
        "a2d482562fdaa493ce3916d77a0c51441dab26f6b0340238a36a71f87fc3e179"
        "cabca9482b704971ce69f3f20ab64b70413d6c2908532b2a888a9fc224cae136"
        "5da410b6f2e298904b63b4a41726321835a4774dd063c211cfc8b5166c2d11a2",
        "expected": "7e8cba9dd9f06ebdd7f92e0f1a67c7f4df52693c212bdd84f67370b351533c6c",
    },
    {
        "name": "HMAC.rsp L=32 Count=91 Klen=64 Tlen=16",
        "key": "eae255d9e083268f896429ce36645502aff9dbeaca7159f93c7d51fdaeefdbfe"
        "14c396693a5ce46e9f1157a687e866f94ca165bff5f7b425092236d2a6a004cb",
        "message": "c28f6a09ce076ef270458967fe19d46e6f6b2cbeb6362bdc4fd55684177e984a"
        "600cf0814501665c3bcb4353e94681c83a8381ebb0c8fcdbfbd73c0eca738cf2"
        "e121edd46b2c0a0292eb6e2c4e46f5107a7780572d0eedb9473847684a4039ac"
        "6c56c9caea90432b9e2e72bad422168e5ad093c9d612e7c05c7fde5c40ed89c0",
        "expected": "b84003c417a472fd2935341962744330",
    },
    {
        "name": "HMAC.rsp L=32 Count=120 Klen=64 Tlen=32",
        "key": "992868504d2564c4fb47bcbd4ae482d8fb0e8e56d7b81864e61986a0e25682da"
        "eb5b50177c095edc9e971da95c3210c376e723365ac33d1b4f391817f4c35124",
        "message": "ed4f269a8851eb3154771516b27228155200778049b2dc1963f3ac32ba46ea13"
        "87cfbb9c39151a2cc406cdc13c3c9860a27eb0b7fe8a7201ad11552afd041e33"
        "f70e53d97c62f17194b66117028fa9071cc0e04bd92de4972cd54f719010a694"
        "e414d4977abed7ca6b90ba612df6c3d467cded85032598a48546804f9cf2ecfe",
        "expected": "2f8321f416b9bb249f113b13fc12d70e1668dc332839c10daa5717896cb70ddf",
    },
)


@dataclass(frozen=True)
class Case:
    """One message through the design.

    Attributes
    ----------
    name : str
        Where the case comes from (vector file and line, or "random ...").
    message : bytes
        The message.
    expected : bytes
        The expected digest or MAC; shorter than 32 bytes for a truncated tag, compared with the
        top bytes of the result.
    key : bytes
        The HMAC key (empty for a plain hash). Shorter than the design's key port: zero bytes
        are appended at its end, which leaves the MAC unchanged.
    """

    name: str
    message: bytes
    expected: bytes
    key: bytes = b""


def _records(lines: Iterator[str], source: str) -> Iterator[tuple[str, dict[str, str]]]:
    # "Name = value" lines, records separated by blank lines; comments and [sections] skipped.
    record: dict[str, str] = {}
    start = 0
    for number, raw in enumerate([*lines, ""], start=1):
        line = raw.strip()
        if line.startswith(("#", "[")):
            continue
        if not line:
            if record:
                yield f"{source}:{start}", record
            record = {}
            continue
        name, _, value = line.partition("=")
        if not record:
            start = number
        record[name.strip()] = value.strip()


def _open_vectors(name: str) -> list[str]:
    from cryptography_vectors import open_vector_file

    with open_vector_file(name, "r") as handle:
        return handle.read().splitlines()


def nist_hash_vectors(name: str) -> list[Case]:
    """The cases of a NIST SHA-256 response file in cryptography-vectors, e.g.
    ``"SHA256ShortMsg.rsp"`` or ``"SHA256LongMsg.rsp"`` (``Len`` in bits; ``Msg = 00`` with
    ``Len = 0`` is the empty message)."""
    cases = []
    for where, record in _records(iter(_open_vectors(f"hashes/SHA2/{name}")), name):
        length = int(record["Len"]) // 8
        message = bytes.fromhex(record["Msg"])[:length]
        cases.append(Case(where, message, bytes.fromhex(record["MD"])))
    return cases


def hmac_vectors() -> list[Case]:
    """Published HMAC-SHA256 vectors with keys of at most 64 bytes: RFC 4231 as shipped in
    cryptography-vectors (``HMAC/rfc-4231-sha256.txt``), and the NIST CAVS selection in
    :data:`NIST_HMAC_SHA256`."""
    name = "HMAC/rfc-4231-sha256.txt"
    cases = []
    for where, record in _records(iter(_open_vectors(name)), name):
        key = bytes.fromhex(record["Key"])
        if len(key) <= 64:
            cases.append(
                Case(where, bytes.fromhex(record["Msg"]), bytes.fromhex(record["MD"]), key)
            )
    for vector in NIST_HMAC_SHA256:
        cases.append(
            Case(
                vector["name"],
                bytes.fromhex(vector["message"]),
                bytes.fromhex(vector["expected"]),
                bytes.fromhex(vector["key"]),
            )
        )
    return cases


def write_cases(path: Path, cases: list[Case]) -> None:
    """Write *cases* to *path* for the testbench (name the file in ``ROPUF_SHA256_CASES``)."""
    rows = [
        {**asdict(case), **{f: getattr(case, f).hex() for f in ("message", "expected", "key")}}
        for case in cases
    ]
    Path(path).write_text(json.dumps(rows))


def read_cases(path: Path) -> list[Case]:
    """Read the cases written by :func:`write_cases`."""
    return [
        Case(
            row["name"],
            bytes.fromhex(row["message"]),
            bytes.fromhex(row["expected"]),
            bytes.fromhex(row["key"]),
        )
        for row in json.loads(Path(path).read_text())
    ]


class TB:
    """Owns the clock and reset of the SHA-256 core or the HMAC, and drives its streams.

    Inputs change on falling clock edges; ``ready`` and ``valid`` come from registers, so their
    value at a falling edge is the one the next rising edge sees.
    """

    def __init__(self, dut):
        self.dut = dut
        self.hmac = hasattr(dut, "key")
        out = "o_mac" if self.hmac else "o_digest"
        self.out_valid = getattr(dut, f"{out}__valid")
        self.out_ready = getattr(dut, f"{out}__ready")
        self.out_payload = getattr(dut, f"{out}__payload")
        self.key_bytes = len(dut.key) // 8 if self.hmac else 0
        self.payload_changes = 0

    async def start(self) -> None:
        dut = self.dut
        dut.i_stream__valid.value = 0
        dut.i_stream__payload.value = 0
        self.out_ready.value = 0
        if self.hmac:
            dut.key.value = 0
        dut.rst.value = 1
        Clock(dut.clk, CLOCK_PS, unit="ps").start(start_high=False)
        await ClockCycles(dut.clk, 4, rising=False)
        dut.rst.value = 0
        await FallingEdge(dut.clk)
        if self.hmac:
            cocotb.start_soon(self._watch_payload())

    async def _watch_payload(self) -> None:
        # The MAC port shows zero unless it offers a MAC: nothing else (no chaining value, no
        # inner digest, nothing of the key) ever appears on it. It changes only a few times per
        # message, so watching its changes costs little. (The plain core's digest port shows
        # its chaining value at all times, by design.)
        while True:
            await ValueChange(self.out_payload)
            await ReadOnly()
            self.payload_changes += 1
            if self.out_payload.value.to_unsigned() != 0:
                assert int(self.out_valid.value) == 1, "the result port shows data while invalid"

    def expected_cycles(self, length: int) -> int:
        """Cycles from the first beat to the result at full rate (the gateware's own figure)."""
        return mac_cycles(length) if self.hmac else digest_cycles(length)

    async def _wait_high(self, signal, case: Case, what: str) -> None:
        # At a falling edge: until `signal` is high here (skipping the rounds in one wait), at
        # most the whole message's time and some.
        bound = self.expected_cycles(len(case.message)) + _SLACK_CYCLES
        await wait_high(
            signal, self.dut.clk, cycles=bound, clock_ps=CLOCK_PS, what=f"{what} ({case.name})"
        )

    async def run(
        self, case: Case, *, empty_end: bool = False, rng: random.Random | None = None
    ) -> tuple[bytes, int]:
        """Hash (or MAC) one case; return the result and the cycles from the first beat
        offered to ``valid``. The message ends with ``last`` on its final byte, or with an
        ``empty`` beat when *empty_end* (always for the empty message). With *rng*, the source
        and the sink stall at random."""
        dut = self.dut
        if self.hmac:
            assert len(case.key) <= self.key_bytes, f"{case.name}: key longer than the port"
            padded = case.key + bytes(self.key_bytes - len(case.key))
            dut.key.value = int.from_bytes(padded, "big")
        message = case.message
        if message and not empty_end:
            beats = [b | (i == len(message) - 1) << 8 for i, b in enumerate(message)]
        else:
            beats = [*message, 0x15A | 1 << 9]  # an empty beat ends it: data and last ignored
        started = None
        for beat in beats:
            while rng is not None and rng.random() < 0.2:
                dut.i_stream__valid.value = 0
                await FallingEdge(dut.clk)
            dut.i_stream__valid.value = 1
            dut.i_stream__payload.value = beat
            if started is None:
                started = get_sim_time("ps")
            await self._wait_high(dut.i_stream__ready, case, "take a message byte")
            await FallingEdge(dut.clk)  # the rising edge in between took the beat
        dut.i_stream__valid.value = 0
        await self._wait_high(self.out_valid, case, "offer the result")
        cycles = round((get_sim_time("ps") - started) / CLOCK_PS)
        result = self.out_payload.value.to_unsigned()
        for _ in range(rng.randrange(4) if rng is not None else 0):
            await FallingEdge(dut.clk)
            assert int(self.out_valid.value) == 1, f"{case.name}: valid fell before ready"
            assert self.out_payload.value.to_unsigned() == result, f"{case.name}: payload moved"
        self.out_ready.value = 1
        await FallingEdge(dut.clk)
        self.out_ready.value = 0
        assert int(self.out_valid.value) == 0, f"{case.name}: result offered twice"
        if self.hmac:
            assert self.out_payload.value.to_unsigned() == 0, f"{case.name}: MAC port not idle"
        return result.to_bytes(32, "big"), cycles


def _check(case: Case, result: bytes) -> None:
    got = result[: len(case.expected)]
    assert got == case.expected, f"{case.name}: got {got.hex()}, expected {case.expected.hex()}"


@cocotb.test()
async def cases_full_rate(dut):
    """Every case, beats offered as soon as the design is ready: results and cycle counts."""
    cases = read_cases(Path(os.environ[CASES_ENV]))
    tb = TB(dut)
    await tb.start()
    cycles = []
    wall_start = time.perf_counter()
    for index, case in enumerate(cases):
        result, taken = await tb.run(case, empty_end=index % 2 == 1)
        _check(case, result)
        expected = tb.expected_cycles(len(case.message))
        assert taken == expected, f"{case.name}: {taken} cycles, expected {expected}"
        cycles.append(taken)
    wall = time.perf_counter() - wall_start
    if tb.hmac:
        assert tb.payload_changes >= 2 * len(cases), "the MAC port watcher missed MACs"

    if result_file := os.environ.get("ROPUF_RESULT"):
        Path(result_file).write_text(
            json.dumps(
                {
                    "design": "hmac_sha256" if tb.hmac else "sha256",
                    "cases": len(cases),
                    "lengths": [len(case.message) for case in cases],
                    "cycles": cycles,
                    "wall_seconds": wall,
                    "per_second": len(cases) / wall,
                    "cycles_per_second": sum(cycles) / wall,
                }
            )
        )


@cocotb.test()
async def cases_with_stalls(dut):
    """Every other case with the source and the sink stalling at random: results unchanged,
    the result held until taken."""
    cases = read_cases(Path(os.environ[CASES_ENV]))[::2]
    rng = random.Random(cocotb.RANDOM_SEED)  # the run's seed (harness.run(seed=...))
    tb = TB(dut)
    await tb.start()
    for case in cases:
        result, _ = await tb.run(case, empty_end=rng.random() < 0.5, rng=rng)
        _check(case, result)
