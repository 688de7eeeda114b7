"""cocotb testbench of :class:`~ropuf.gateware.crypto.p256_alu.P256ALU` with the P-256 program.

Each case is a list of runs: load registers through the idle port, start a routine, wait for
``busy`` to fall, read registers back. The cases come from a JSON file named by
``ROPUF_P256_CASES`` (:func:`write_cases`); each run names the values it expects (from the
pytest side: ``cryptography`` or the reference model) and the testbench compares them, and the
busy cycles with the routine's fixed count. When ``ROPUF_RESULT`` names a file, the cycles and
wall time of every run are written there as JSON.

Values are hexadecimal strings in the JSON. The testbench prints no register value: the scalar
of a run may be a test's private key, and it stays in the case file the test wrote.
"""

import json
import os
import time
from pathlib import Path

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge

from ropuf.gateware.crypto.p256_alu import WORD_BITS, WORDS
from ropuf.sim.testbenches.bounded import wait_bounded
from ropuf.sim.testbenches.clock import start_clock

__all__ = ["CASES_ENV", "write_cases"]

#: Environment variable naming the JSON file of cases.
CASES_ENV = "ROPUF_P256_CASES"

#: Clock period in ps (25 MHz; two equal halves).
CLOCK_PS = 40_000

_MASK = 2**WORD_BITS - 1


def write_cases(path: Path, cases: list[dict]) -> None:
    """Write *cases* for the testbench: each a dict with ``name`` and ``runs``, each run a dict
    with ``entry`` (int), ``load`` and ``expect`` (``{register: int}``), ``cycles`` and
    optionally ``fault`` (the flag expected after the run; 0 when absent)."""

    def run_json(run):
        return {
            "entry": run["entry"],
            "cycles": run["cycles"],
            "fault": int(run.get("fault", 0)),
            "load": {str(r): f"{v:x}" for r, v in run["load"].items()},
            "expect": {str(r): f"{v:x}" for r, v in run["expect"].items()},
        }

    data = [{"name": c["name"], "runs": [run_json(r) for r in c["runs"]]} for c in cases]
    path.write_text(json.dumps(data))


async def _write(dut, register: int, value: int) -> None:
    for j in range(WORDS):
        dut.addr.value = register * WORDS + j
        dut.wdata.value = (value >> (WORD_BITS * j)) & _MASK
        dut.we.value = 1
        await FallingEdge(dut.clk)
    dut.we.value = 0


async def _read(dut, register: int) -> int:
    value = 0
    for j in range(WORDS):
        dut.addr.value = register * WORDS + j
        await FallingEdge(dut.clk)
        value |= int(dut.rdata.value) << (WORD_BITS * j)
    return value


@cocotb.test()
async def routines(dut):
    """Every run of every case: the expected registers, the routine's fixed cycle count."""
    cases = json.loads(Path(os.environ[CASES_ENV]).read_text())
    dut.start.value = 0
    dut.we.value = 0
    dut.rst.value = 1
    start_clock(dut, "clk", CLOCK_PS)
    await ClockCycles(dut.clk, 4, rising=False)
    dut.rst.value = 0
    figures = []
    for case in cases:
        for index, run in enumerate(case["runs"]):
            for register, value in run["load"].items():
                await _write(dut, int(register), int(value, 16))
            dut.entry.value = run["entry"]
            dut.start.value = 1
            await FallingEdge(dut.clk)
            dut.start.value = 0
            began, wall = get_sim_time("ps"), time.monotonic()
            assert int(dut.busy.value), f"{case['name']}, run {index}: busy did not rise"
            await wait_bounded(
                FallingEdge(dut.busy),
                cycles=run["cycles"] + 16,
                clock_ps=CLOCK_PS,
                what=f"finish {case['name']}, run {index}",
            )
            await FallingEdge(dut.clk)
            busy = int(get_sim_time("ps") - began) // CLOCK_PS
            figures.append({"case": case["name"], "run": index, "cycles": busy,
                            "seconds": time.monotonic() - wall})  # fmt: skip
            assert busy == run["cycles"], (
                f"{case['name']}, run {index}: {busy} busy cycles, the routine takes "
                f"{run['cycles']}"
            )
            if int(dut.fault.value) != run["fault"]:
                raise AssertionError(
                    f"{case['name']}, run {index}: fault is {int(dut.fault.value)}, expected "
                    f"{run['fault']}"
                )
            for register, value in run["expect"].items():
                # Not an assert: cocotb's assertion rewriting would print both values.
                if await _read(dut, int(register)) != int(value, 16):
                    raise AssertionError(
                        f"{case['name']}, run {index}: register {register} differs from the "
                        "reference"
                    )
    if result := os.environ.get("ROPUF_RESULT"):
        Path(result).write_text(json.dumps(figures))
