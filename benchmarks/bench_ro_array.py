"""RO array (simulation body): simulated cycles per second, and the time to read a response.

Usage::

    .venv/bin/python benchmarks/bench_ro_array.py

Builds a 256-RO array with the default gate window (4,096 cycles at 12 MHz) for Verilator,
loads a die from the silicon model, and reads the full response of its 256 ROs (128 disjoint
neighbour pairs) several times, each result checked against the Python model inside the
testbench. Prints simulated cycles per wall second, the wall time of one full response in
Verilator, the time the same response takes on a 12 MHz board, and, for scale, the cycles per
second of Amaranth's Python simulator on the same design, measured in the same run.
"""

import json
import tempfile
import time
from pathlib import Path

from amaranth.sim import Simulator

from ropuf.gateware.ro.array import ROArray
from ropuf.sim import harness
from ropuf.sim.ro_measure import sim_load
from ropuf.sim.silicon import Die
from ropuf.spec.ro_pairs import neighbour_pairs

N_RO = 256
CLOCK_HZ = 12e6
RESPONSES = 4


def verilator(dut: ROArray) -> dict:
    build = harness.build(dut, f"ro_array_{N_RO}_g{dut.gate_cycles}")
    cases = [
        {
            "die_seed": 100 + k,
            "temperature": 25.0,
            "voltage": 1.2,
            "noise_seed": k + 1,
            "pairs": neighbour_pairs(N_RO),
        }
        for k in range(RESPONSES)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "cases.json").write_text(json.dumps(cases))
        harness.run(
            build,
            "ropuf.sim.testbenches.ro_array",
            env={
                "ROPUF_RO_N": str(dut.n_ro),
                "ROPUF_RO_GATE": str(dut.gate_cycles),
                "ROPUF_RO_COUNT_WIDTH": str(dut.count_width),
                "ROPUF_RO_SOFT_WIDTH": str(dut.soft_width),
                "ROPUF_RO_CASES": str(Path(tmp) / "cases.json"),
                "ROPUF_RESULT": str(Path(tmp) / "result.json"),
            },
        )
        return json.loads((Path(tmp) / "result.json").read_text())


def pysim_cycles_per_second(dut: ROArray, pairs: int = 2) -> float:
    load = sim_load(Die(1, n_ro=N_RO), 25.0, None, clock_hz=CLOCK_HZ, gate_cycles=dut.gate_cycles)
    cycles = 0

    async def testbench(ctx):
        nonlocal cycles
        for addr, rate in enumerate(load.rates):
            ctx.set(dut.sim.rate_addr, addr)
            ctx.set(dut.sim.rate_data, int(rate))
            ctx.set(dut.sim.rate_we, 1)
            await ctx.tick()
        ctx.set(dut.sim.rate_we, 0)
        ctx.set(dut.enable, 1)
        ctx.set(dut.o_results.ready, 1)
        start = time.perf_counter()
        for a, b in neighbour_pairs(N_RO)[:pairs]:
            ctx.set(dut.i_pairs.payload, {"a": a, "b": b})
            ctx.set(dut.i_pairs.valid, 1)
            await ctx.tick().until(dut.i_pairs.ready)
            ctx.set(dut.i_pairs.valid, 0)
            await ctx.tick().until(dut.o_results.valid)
        cycles_done = pairs * (dut.cycles_per_result + 1)
        elapsed.append((cycles_done, time.perf_counter() - start))

    elapsed = []
    sim = Simulator(dut)
    sim.add_clock(1 / CLOCK_HZ)
    sim.add_testbench(testbench)
    sim.run()
    cycles, wall = elapsed[0]
    return cycles / wall


def main() -> None:
    dut = ROArray(n_ro=N_RO, simulation=True)
    figures = verilator(dut)
    per_response = figures["wall_seconds"] / RESPONSES
    verilator_rate = figures["cycles"] / figures["wall_seconds"]
    pysim_rate = pysim_cycles_per_second(ROArray(n_ro=N_RO, simulation=True))
    board = len(neighbour_pairs(N_RO)) * dut.cycles_per_result / CLOCK_HZ
    print(f"RO array, {N_RO} ROs, gate {dut.gate_cycles} cycles, counters {dut.count_width} bits")
    print(f"  results checked against the Python model : {figures['results']}")
    print(f"  Verilator (cocotb)  : {verilator_rate:,.0f} simulated cycles/s")
    print(f"  Amaranth pysim      : {pysim_rate:,.0f} simulated cycles/s")
    print(f"  ratio               : {verilator_rate / pysim_rate:,.0f} x")
    cycles = figures["cycles"] / RESPONSES
    print(f"  full response of {N_RO} ROs ({N_RO // 2} pairs, {cycles:,.0f} cycles)")
    print(f"    wall time in Verilator : {per_response * 1e3:,.1f} ms")
    print(f"    on a 12 MHz board      : {board * 1e3:,.1f} ms")


if __name__ == "__main__":
    main()
