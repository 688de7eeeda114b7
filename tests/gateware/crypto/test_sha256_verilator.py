"""SHA-256 and HMAC-SHA256 in Verilator through the cocotb harness: every NIST SHA-256 vector,
the published HMAC vectors, and random messages of every length class, against hashlib/hmac.
The same testbench runs under Icarus on a shorter list (``make test-icarus``)."""

import hashlib
import hmac
import random

import pytest

from ropuf.gateware.crypto.hmac_sha256 import HMACSHA256
from ropuf.gateware.crypto.sha256 import SHA256
from ropuf.sim import harness
from ropuf.sim.testbenches.sha256 import (
    CASES_ENV,
    Case,
    hmac_vectors,
    nist_hash_vectors,
    write_cases,
)

TESTBENCH = "ropuf.sim.testbenches.sha256"

#: Random message lengths: every length over three blocks (every place the padding can fall),
#: then longer ones.
LENGTHS = [*range(193), 447, 448, 1000, 4096 + 7]


def _random_hash_cases(seed: int) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for length in LENGTHS:
        message = rng.randbytes(length)
        cases.append(Case(f"random {length} bytes", message, hashlib.sha256(message).digest()))
    return cases


def _random_mac_cases(seed: int, count: int) -> list[Case]:
    rng = random.Random(seed)
    cases = []
    for index in range(count):
        key = rng.randbytes(rng.choice([1, 16, 32, 63, 64, rng.randrange(1, 65)]))
        message = rng.randbytes(index if index < 140 else rng.randrange(140, 400))
        expected = hmac.digest(key, message, "sha256")
        cases.append(Case(f"random key {len(key)}, message {len(message)}", message, expected, key))
    return cases


@pytest.mark.sim
def test_sha256_verilator(tmp_path):
    short = nist_hash_vectors("SHA256ShortMsg.rsp")
    long = nist_hash_vectors("SHA256LongMsg.rsp")
    assert (len(short), len(long)) == (65, 64)
    cases = short + long + _random_hash_cases(seed=256)
    write_cases(tmp_path / "cases.json", cases)
    build = harness.build(SHA256(), "sha256")
    result = harness.run(build, TESTBENCH, env={CASES_ENV: str(tmp_path / "cases.json")}, seed=1)
    assert result.tests == 2


@pytest.mark.sim
def test_hmac_sha256_verilator(tmp_path):
    # One build with the longest key port runs keys of every length: a shorter key is given
    # with zero bytes appended, which HMAC's own zero padding makes equivalent.
    cases = hmac_vectors() + _random_mac_cases(seed=198, count=160)
    write_cases(tmp_path / "cases.json", cases)
    build = harness.build(HMACSHA256(key_bytes=64), "hmac_sha256_k64")
    result = harness.run(build, TESTBENCH, env={CASES_ENV: str(tmp_path / "cases.json")}, seed=2)
    assert result.tests == 2


@pytest.mark.sim
@pytest.mark.icarus
def test_sha256_icarus(tmp_path):
    # The core's ready is combinational from a register initialised at reset: under Icarus in
    # SystemVerilog mode it stayed X (no start-up event), so no beat was ever taken.
    cases = nist_hash_vectors("SHA256ShortMsg.rsp")[::4] + _random_hash_cases(seed=256)[::24]
    write_cases(tmp_path / "cases.json", cases)
    build = harness.build(SHA256(), "sha256", simulator="icarus")
    result = harness.run(build, TESTBENCH, env={CASES_ENV: str(tmp_path / "cases.json")}, seed=1)
    assert result.tests == 2


@pytest.mark.sim
@pytest.mark.icarus
def test_hmac_sha256_icarus(tmp_path):
    # The HMAC's ready is combinational from the core's: Icarus reports its glitches, which
    # the testbench once took for handshakes (bytes lost, wrong MACs).
    cases = hmac_vectors() + _random_mac_cases(seed=198, count=12)
    write_cases(tmp_path / "cases.json", cases)
    build = harness.build(HMACSHA256(key_bytes=64), "hmac_sha256_k64", simulator="icarus")
    result = harness.run(build, TESTBENCH, env={CASES_ENV: str(tmp_path / "cases.json")}, seed=2)
    assert result.tests == 2
