"""SHA-256 and HMAC-SHA256 gateware: clock cycles, and hashes per second in Verilator.

Usage::

    .venv/bin/python benchmarks/bench_sha256.py

Prints, all measured in Verilator through the cocotb testbench (every result checked against
hashlib/hmac there, every cycle count against the gateware's own formula):

1. SHA-256 cycles for a 32-byte message, and per further 64-byte block;
2. HMAC-SHA256 cycles for a 32-byte nonce (32-byte key);
3. messages hashed and MACed per wall second in Verilator, and simulated cycles per second.
"""

import hashlib
import hmac
import json
import random
import tempfile
from pathlib import Path

from ropuf.gateware.crypto.hmac_sha256 import HMACSHA256
from ropuf.gateware.crypto.sha256 import SHA256
from ropuf.sim import harness
from ropuf.sim.testbenches.sha256 import CASES_ENV, Case, write_cases

TESTBENCH = "ropuf.sim.testbenches.sha256"
#: Messages per run (enough for a steady per-second figure).
RUNS = 2000
#: Clock of the iCEBreaker, for the time per operation on the board.
CLOCK_HZ = 12e6
#: The longer message for the per-block figure: 32 bytes plus this many blocks.
EXTRA_BLOCKS = 15


def run(design: object, name: str, cases: list[Case]) -> dict:
    build = harness.build(design, name)
    with tempfile.TemporaryDirectory() as tmp:
        write_cases(Path(tmp) / "cases.json", cases)
        harness.run(
            build,
            TESTBENCH,
            testcase="cases_full_rate",
            env={
                CASES_ENV: str(Path(tmp) / "cases.json"),
                "ROPUF_RESULT": str(Path(tmp) / "result.json"),
            },
        )
        return json.loads((Path(tmp) / "result.json").read_text())


def main() -> None:
    rng = random.Random(1)
    long = rng.randbytes(32 + 64 * EXTRA_BLOCKS)
    messages = [long] + [rng.randbytes(32) for _ in range(RUNS)]
    sha = run(
        SHA256(),
        "sha256",
        [Case("bench", m, hashlib.sha256(m).digest()) for m in messages],
    )
    short_cycles = sha["cycles"][1]
    per_block = (sha["cycles"][0] - short_cycles) / EXTRA_BLOCKS

    key = rng.randbytes(32)
    nonces = [rng.randbytes(32) for _ in range(RUNS)]
    mac = run(
        HMACSHA256(key_bytes=32),
        "hmac_sha256_k32",
        [Case("bench", n, hmac.digest(key, n, "sha256"), key) for n in nonces],
    )
    mac_cycles = mac["cycles"][0]

    print("SHA-256 core (one round per cycle), Verilator, results checked against hashlib/hmac")
    print(f"  cycles per 64-byte block:              {per_block:.0f}")
    print(
        f"  cycles for a 32-byte message:          {short_cycles}"
        f"  ({short_cycles / CLOCK_HZ * 1e6:.1f} us at {CLOCK_HZ / 1e6:.0f} MHz)"
    )
    print(f"  throughput, long messages:             {64 / per_block:.2f} bytes/cycle")
    print(
        f"  HMAC cycles for a 32-byte nonce:       {mac_cycles}"
        f"  ({mac_cycles / CLOCK_HZ * 1e6:.1f} us at {CLOCK_HZ / 1e6:.0f} MHz)"
    )
    print(
        f"  Verilator: {sha['per_second']:,.0f} hashes/s of {len(messages)} messages "
        f"(mostly 32 bytes), {sha['cycles_per_second']:,.0f} cycles/s"
    )
    print(
        f"  Verilator: {mac['per_second']:,.0f} HMACs/s of {RUNS} 32-byte nonces, "
        f"{mac['cycles_per_second']:,.0f} cycles/s"
    )


if __name__ == "__main__":
    main()
