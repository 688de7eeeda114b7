# amaranth: UnusedElaboratable=no
"""RO array (simulation body) in Amaranth's simulator against the Python measurement model."""

import random

import pytest
from amaranth.back import rtlil
from amaranth.sim import Simulator
from amaranth_boards.icebreaker import ICEBreakerPlatform

from ropuf.gateware.ro.array import ROArray, count_width_for
from ropuf.sim.ro_measure import MeasureConfig, PairResult, measure_pairs
from ropuf.spec import ro_behavioural
from ropuf.spec.ro_pairs import check_pairs, neighbour_pairs


def run_array(dut, rates, pairs, *, seed, noise_scale, common_scale=0, ready_gaps=0):
    """Load *rates*, measure *pairs*; returns the results and the cycles from request to result."""
    results, latencies = [], []

    async def testbench(ctx):
        for addr, rate in enumerate(rates):
            ctx.set(dut.sim.rate_addr, addr)
            ctx.set(dut.sim.rate_data, rate)
            ctx.set(dut.sim.rate_we, 1)
            await ctx.tick()
        ctx.set(dut.sim.rate_we, 0)
        ctx.set(dut.sim.seed, seed)
        ctx.set(dut.sim.seed_we, 1)
        ctx.set(dut.sim.noise_scale, noise_scale)
        ctx.set(dut.sim.common_scale, common_scale)
        await ctx.tick()
        ctx.set(dut.sim.seed_we, 0)
        ctx.set(dut.enable, 1)
        for a, b in pairs:
            ctx.set(dut.i_pairs.payload, {"a": a, "b": b})
            ctx.set(dut.i_pairs.valid, 1)
            await ctx.tick().until(dut.i_pairs.ready)
            ctx.set(dut.i_pairs.valid, 0)
            cycles = 1
            while not ctx.get(dut.o_results.valid):
                await ctx.tick()
                cycles += 1
            latencies.append(cycles)
            for _ in range(ready_gaps):
                await ctx.tick()
            payload = ctx.get(dut.o_results.payload)
            results.append(
                PairResult(
                    payload.bit,
                    payload.soft,
                    payload.count_a,
                    payload.count_b,
                    payload.overflow,
                    payload.invalid,
                )
            )
            ctx.set(dut.o_results.ready, 1)
            await ctx.tick()
            ctx.set(dut.o_results.ready, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    return results, latencies


def config_of(dut):
    return MeasureConfig(dut.n_ro, dut.gate_cycles, dut.count_width, dut.soft_width)


@pytest.mark.parametrize(("noise_scale", "common_scale"), [(0, 0), (3000, 0), (65535, 40000)])
def test_results_equal_model(noise_scale, common_scale):
    rng = random.Random(noise_scale)
    dut = ROArray(n_ro=8, gate_cycles=50, max_edges_per_cycle=20.0, soft_width=10, simulation=True)
    rates = [rng.randrange(15 << 16, 20 << 16) for _ in range(8)]
    rates[3] = rates[2]  # a tie: bit 0, soft 0 without noise
    pairs = [*neighbour_pairs(8), (7, 0), (2, 3), (3, 2), (5, 5), (1, 8), (40000, 2), (6, 1)]
    seed = rng.getrandbits(32)
    got, latencies = run_array(
        dut, rates, pairs, seed=seed, noise_scale=noise_scale, common_scale=common_scale
    )
    expected, _ = measure_pairs(
        rates,
        pairs,
        config_of(dut),
        seed=seed,
        noise_scale=noise_scale,
        common_scale=common_scale,
    )
    assert got == expected
    assert [r.invalid for r in got] == [0] * 7 + [1, 1, 1, 0]
    # Constant time: the same number of cycles for every pair, valid or not.
    assert set(latencies) == {dut.cycles_per_result - 1}
    assert dut.cycles_per_result == dut.gate_cycles + dut.settle_cycles + 3


def test_noise_changes_counts_and_continues_across_requests():
    dut = ROArray(n_ro=4, gate_cycles=40, max_edges_per_cycle=4.0, soft_width=8, simulation=True)
    rates = [3 << 16, (3 << 16) + 500, 2 << 16, 1 << 16]
    pairs = [(0, 1)] * 6
    got, _ = run_array(dut, rates, pairs, seed=0, noise_scale=40000, common_scale=20000)
    expected, _ = measure_pairs(
        rates, pairs, config_of(dut), seed=0, noise_scale=40000, common_scale=20000
    )
    assert got == expected
    assert len({(r.count_a, r.count_b) for r in got}) > 1, "noise must vary between measurements"


def test_soft_value_saturates_and_overflow_is_flagged():
    # max_edges_per_cycle understated on purpose: ring 0 runs faster than the counter allows.
    dut = ROArray(n_ro=3, gate_cycles=16, max_edges_per_cycle=2.0, soft_width=4, simulation=True)
    rates = [4 << 16, 1 << 16, (1 << 16) + (1 << 14)]
    pairs = [(0, 1), (1, 2), (2, 1)]
    got, _ = run_array(dut, rates, pairs, seed=1, noise_scale=0)
    expected, _ = measure_pairs(rates, pairs, config_of(dut), seed=1, noise_scale=0)
    assert got == expected
    assert got[0].overflow == 1 and got[0].count_a == 2**dut.count_width - 1
    assert got[1] == PairResult(0, -4, 16, 20, 0, 0)
    assert got[2] == PairResult(1, 4, 20, 16, 0, 0)


def test_no_overflow_at_the_stated_maximum_rate():
    gate, max_rate = 64, 9.75
    dut = ROArray(n_ro=2, gate_cycles=gate, max_edges_per_cycle=max_rate, simulation=True)
    top_rate = int(max_rate * 2**ro_behavioural.RATE_FRAC)
    got, _ = run_array(dut, [top_rate, top_rate - 1], [(0, 1)], seed=5, noise_scale=0)
    assert got[0].overflow == 0
    assert got[0].count_a == gate * max_rate == 624
    assert count_width_for(gate, max_rate) == dut.count_width == 10


def test_enable_low_takes_no_request():
    dut = ROArray(n_ro=2, gate_cycles=4, simulation=True)

    async def testbench(ctx):
        ctx.set(dut.i_pairs.valid, 1)
        ctx.set(dut.i_pairs.payload, {"a": 0, "b": 1})
        for _ in range(20):
            await ctx.tick()
            assert not ctx.get(dut.i_pairs.ready)
            assert not ctx.get(dut.o_results.valid)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_ro": 1}, ValueError, r"RO count must be in 2\.\.65535, not 1"),
        ({"n_ro": 70000}, ValueError, r"RO count must be in 2\.\.65535, not 70000"),
        ({"n_ro": 8.0}, TypeError, r"RO count must be an integer, not 8\.0"),
        ({"n_ro": 8, "stages": 4}, ValueError, r"Stage count must be odd .*, not 4"),
        ({"n_ro": 8, "stages": 1}, ValueError, r"Stage count must be in 3\.\.63, not 1"),
        ({"n_ro": 8, "gate_cycles": 0}, ValueError, r"Gate window must be in 1\.\..*, not 0"),
        ({"n_ro": 8, "max_edges_per_cycle": 0}, ValueError, r"positive number, not 0"),
        ({"n_ro": 8, "soft_width": 1}, ValueError, r"Soft value width must be in 2\.\.32, not 1"),
        ({"n_ro": 8, "settle_cycles": 0}, ValueError, r"Settle cycles must be in 1\.\.255, not 0"),
    ],
)
def test_bad_parameters(kwargs, error, message):
    with pytest.raises(error, match=message):
        ROArray(**kwargs)


def test_body_must_match_platform():
    with pytest.raises(ValueError, match="without a platform has no rings"):
        rtlil.convert(ROArray(n_ro=4))
    with pytest.raises(ValueError, match=r"simulation body .* cannot be built for"):
        ROArray(n_ro=4, simulation=True).elaborate(ICEBreakerPlatform())


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([(0, 1), (2, 8)], r"Pair 1 \(2, 8\) names RO 8, but the array has ROs 0\.\.7"),
        ([(3, 3)], r"Pair 0 \(3, 3\) compares RO 3 with itself"),
        ([(-1, 2)], r"names RO -1"),
        ([(0, 1, 2)], r"Pair 0 must be two RO indices, not \(0, 1, 2\)"),
        ([(0, "1")], r"non-integer RO index '1'"),
        ([], r"at least one pair"),
    ],
)
def test_bad_pair_lists(pairs, message):
    with pytest.raises(ValueError, match=message):
        check_pairs(pairs, 8)


def test_neighbour_pairs():
    assert neighbour_pairs(5) == [(0, 1), (2, 3)]
    assert check_pairs(neighbour_pairs(256), 256)[-1] == (254, 255)
    with pytest.raises(ValueError, match="at least 2, not 1"):
        neighbour_pairs(1)
