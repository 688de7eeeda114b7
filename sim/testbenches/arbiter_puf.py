"""cocotb testbench of :class:`~ropuf.gateware.arbiter.puf.ArbiterPUF` with the simulation body.

The design must be built with ``expose_chains=True``. For each case (a die seed, a condition, a
noise seed and a number of random challenges, from the JSON file named by
``ROPUF_ARB_CASES``) it loads the die's quantised weights, noise seed and scale through the
``sim`` port, evaluates the challenges back to back, and checks every response and every
chain bit against :func:`ropuf.sim.arbiter_model.gateware_responses` for the same die,
condition and noise seed. ``ROPUF_ARB_N`` and ``ROPUF_ARB_K`` give the design's size;
``ROPUF_RESULT`` names a file for the figures (responses, cycles, wall time).
"""

import json
import os
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge

from ropuf.sim.arbiter_model import (
    ArbiterDie,
    challenge_ints,
    gateware_responses,
    random_challenges,
    sim_load,
)
from ropuf.sim.testbenches.bounded import check_progress

#: 12 MHz system clock, as on the iCEBreaker (an even number of picoseconds).
CLOCK_PS = 83_334

_WEIGHT_MASK = 0xFFFF

#: Cycles the design may go without taking a challenge or offering a response (it does one or
#: the other every few cycles; the majority vote of the device's handler is not in this design).
_IDLE_BOUND = 1_000


class TB:
    """Owns clock and reset; loads dies and evaluates challenges through the top-level ports."""

    def __init__(self, dut, n_stages: int, k: int):
        self.dut = dut
        self.n_stages = n_stages
        self.k = k

    async def start(self) -> None:
        dut = self.dut
        for port in ("enable", "i_challenge__valid", "o_response__ready", "sim__weight_we"):
            getattr(dut, port).value = 0
        dut.sim__seed_we.value = 0
        dut.rst.value = 1
        Clock(dut.clk, CLOCK_PS, unit="ps").start(start_high=False)
        await ClockCycles(dut.clk, 3, rising=False)
        dut.rst.value = 0

    async def load(self, weights: np.ndarray, seed: int, noise_scale: int) -> None:
        dut = self.dut
        dut.enable.value = 0
        dut.sim__weight_we.value = 1
        for chain, row in enumerate(weights):
            for stage, weight in enumerate(row):
                dut.sim__weight_addr.value = chain * (self.n_stages + 1) + stage
                dut.sim__weight_data.value = int(weight) & _WEIGHT_MASK
                await FallingEdge(dut.clk)
        dut.sim__weight_we.value = 0
        dut.sim__seed.value = seed
        dut.sim__noise_scale.value = noise_scale
        dut.sim__seed_we.value = 1
        # Raised an edge before the first challenge: a value written now is only read back
        # after the next edge, and evaluate() reads ``ready`` at once.
        dut.enable.value = 1
        await FallingEdge(dut.clk)
        dut.sim__seed_we.value = 0

    async def evaluate(self, challenges: list[int]) -> list[tuple[int, list[int]]]:
        """Stream *challenges* in and collect the responses, always ready to take them."""
        dut = self.dut
        dut.o_response__ready.value = 1
        results = []
        pending = list(challenges)
        dut.i_challenge__payload.value = pending[0]
        dut.i_challenge__valid.value = 1
        idle = 0
        while len(results) < len(challenges):
            taken = int(dut.i_challenge__ready.value)
            valid = int(dut.o_response__valid.value)
            payload = int(dut.o_response__payload.value) if valid else 0
            await FallingEdge(dut.clk)
            idle = 0 if taken or valid else idle + 1
            check_progress(
                idle, _IDLE_BOUND, f"take a challenge or answer one ({len(results)} answered)"
            )
            if valid:
                results.append((payload & 1, [(payload >> (1 + i)) & 1 for i in range(self.k)]))
            if taken:
                pending.pop(0)
                if pending:
                    dut.i_challenge__payload.value = pending[0]
                else:
                    dut.i_challenge__valid.value = 0
        dut.o_response__ready.value = 0
        return results


@cocotb.test()
async def responses_equal_model(dut):
    """Every die, condition and noise seed: gateware responses == Python model, bit for bit."""
    n_stages = int(os.environ["ROPUF_ARB_N"])
    k = int(os.environ["ROPUF_ARB_K"])
    with open(os.environ["ROPUF_ARB_CASES"]) as handle:
        cases = json.load(handle)
    tb = TB(dut, n_stages, k)
    await tb.start()

    evaluated = 0
    wall = 0.0
    cycles = 0.0
    for case in cases:
        die = ArbiterDie(case["die_seed"], n_stages, k)
        load = sim_load(die, case["temperature"], case["voltage"])
        scale = int(load.noise_scale * case.get("noise_factor", 1.0))
        await tb.load(load.weights, case["noise_seed"], scale)
        challenges = random_challenges(case["challenges"], n_stages, rng=case["challenge_seed"])
        wall_start, sim_start = time.perf_counter(), get_sim_time("ps")
        got = await tb.evaluate(challenge_ints(challenges, n_stages))
        wall += time.perf_counter() - wall_start
        cycles += (get_sim_time("ps") - sim_start) / CLOCK_PS
        bits, chains, _ = gateware_responses(
            load.weights, challenges, seed=case["noise_seed"], noise_scale=scale
        )
        for index, (bit, chain_bits) in enumerate(got):
            expected = (int(bits[index]), chains[index].tolist())
            assert (bit, chain_bits) == expected, (
                f"die {case['die_seed']} at {case['temperature']} C, challenge {index}: "
                f"{(bit, chain_bits)} != {expected}"
            )
        assert 0 < int(bits.sum()) < len(bits), "a degenerate case proves little"
        evaluated += len(got)

    if result := os.environ.get("ROPUF_RESULT"):
        with open(result, "w") as handle:
            json.dump({"responses": evaluated, "cycles": cycles, "wall_seconds": wall}, handle)
