"""cocotb testbench of :class:`~ropuf.gateware.ro.array.ROArray` with the simulation body.

For each case (a die seed, a condition, a noise seed and a pair list, from the JSON file named by
``ROPUF_RO_CASES``) it loads the die's edge rates and noise scales through the ``sim`` port,
measures the pairs, and checks every result against :func:`ropuf.sim.ro_measure.measure_pairs`
for the same die, condition and noise seed. ``ROPUF_RESULT`` names a file for the figures.
"""

import json
import os
import time

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge

from ropuf.gateware.ro.array import PairLayout, ResultLayout
from ropuf.sim.ro_measure import MeasureConfig, PairResult, measure_pairs, sim_load
from ropuf.sim.silicon import Die
from ropuf.sim.testbenches.bounded import check_progress, wait_high

#: 12 MHz system clock, as on the iCEBreaker (an even number of picoseconds).
CLOCK_PS = 83_334
CLOCK_HZ = 1e12 / CLOCK_PS

#: The longest settle time the array takes (its ``settle_cycles`` argument is at most 255).
_MAX_SETTLE = 255


class TB:
    """Owns clock and reset; loads dies and measures pairs through the top-level ports."""

    def __init__(self, dut, config: MeasureConfig):
        self.dut = dut
        self.config = config
        self.layout = ResultLayout(config.count_width, config.soft_width)
        # A result comes gate + settle + 3 cycles after its request: twice that is stuck.
        self.bound = 2 * (config.gate_cycles + _MAX_SETTLE + 3)

    async def start(self) -> None:
        dut = self.dut
        for port in (
            "enable",
            "i_pairs__valid",
            "o_results__ready",
            "sim__rate_we",
            "sim__seed_we",
        ):
            getattr(dut, port).value = 0
        dut.rst.value = 1
        Clock(dut.clk, CLOCK_PS, unit="ps").start(start_high=False)
        await ClockCycles(dut.clk, 3, rising=False)
        dut.rst.value = 0
        dut.enable.value = 1

    async def load(self, rates, seed: int, noise_scale: int, common_scale: int) -> None:
        dut = self.dut
        dut.sim__rate_we.value = 1
        for addr, rate in enumerate(rates):
            dut.sim__rate_addr.value = addr
            dut.sim__rate_data.value = int(rate)
            await FallingEdge(dut.clk)
        dut.sim__rate_we.value = 0
        dut.sim__seed.value = seed
        dut.sim__noise_scale.value = noise_scale
        dut.sim__common_scale.value = common_scale
        dut.sim__seed_we.value = 1
        await FallingEdge(dut.clk)
        dut.sim__seed_we.value = 0

    async def measure(self, a: int, b: int) -> PairResult:
        dut = self.dut
        dut.i_pairs__payload.value = PairLayout.const({"a": a, "b": b}).as_value().value
        dut.i_pairs__valid.value = 1
        waited = 0
        while True:
            ready = int(dut.i_pairs__ready.value)
            await FallingEdge(dut.clk)
            if ready:
                break
            waited += 1
            check_progress(waited, self.bound, f"take the pair ({a}, {b})")
        dut.i_pairs__valid.value = 0
        await wait_high(
            dut.o_results__valid, dut.clk, cycles=self.bound, clock_ps=CLOCK_PS,
            what=f"offer the result of the pair ({a}, {b})",
        )  # fmt: skip
        raw = self.layout.from_bits(int(dut.o_results__payload.value))
        dut.o_results__ready.value = 1
        await FallingEdge(dut.clk)
        dut.o_results__ready.value = 0
        return PairResult(
            int(raw.bit), int(raw.soft), int(raw.count_a), int(raw.count_b),
            int(raw.overflow), int(raw.invalid),
        )  # fmt: skip


def _config() -> MeasureConfig:
    return MeasureConfig(
        n_ro=int(os.environ["ROPUF_RO_N"]),
        gate_cycles=int(os.environ["ROPUF_RO_GATE"]),
        count_width=int(os.environ["ROPUF_RO_COUNT_WIDTH"]),
        soft_width=int(os.environ["ROPUF_RO_SOFT_WIDTH"]),
    )


@cocotb.test()
async def results_equal_model(dut):
    """Every die, condition and noise seed: gateware results == Python model, bit for bit."""
    config = _config()
    with open(os.environ["ROPUF_RO_CASES"]) as handle:
        cases = json.load(handle)
    tb = TB(dut, config)
    await tb.start()

    measured = 0
    wall = 0.0
    cycles = 0.0
    for case in cases:
        die = Die(case["die_seed"], n_ro=config.n_ro, columns=case.get("columns", 16))
        load = sim_load(
            die,
            case["temperature"],
            case["voltage"],
            clock_hz=CLOCK_HZ,
            gate_cycles=config.gate_cycles,
        )
        await tb.load(load.rates, case["noise_seed"], load.noise_scale, load.common_scale)
        pairs = [tuple(pair) for pair in case["pairs"]]
        wall_start, sim_start = time.perf_counter(), get_sim_time("ps")
        got = [await tb.measure(a, b) for a, b in pairs]
        wall += time.perf_counter() - wall_start
        cycles += (get_sim_time("ps") - sim_start) / CLOCK_PS
        expected, _ = measure_pairs(
            load.rates,
            pairs,
            config,
            seed=case["noise_seed"],
            noise_scale=load.noise_scale,
            common_scale=load.common_scale,
        )
        for index, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert g == e, f"die {case['die_seed']} pair {index} {pairs[index]}: {g} != {e}"
        assert not any(r.overflow for r in got), "a counter overflowed"
        measured += len(pairs)

    if result := os.environ.get("ROPUF_RESULT"):
        with open(result, "w") as handle:
            json.dump(
                {"results": measured, "cycles": cycles, "wall_seconds": wall, "cases": len(cases)},
                handle,
            )
