# amaranth: UnusedElaboratable=no
"""Arbiter PUF (simulation body) in Amaranth's simulator against the Python models."""

import random

import numpy as np
import pytest
from amaranth.back import rtlil
from amaranth.sim import Simulator
from amaranth_boards.icebreaker import ICEBreakerPlatform
from amaranth_boards.ulx3s import ULX3S_85F_Platform

from ropuf.gateware.arbiter.ecp5 import ECP5ArbiterPlacement
from ropuf.gateware.arbiter.ice40 import ICE40ArbiterPlacement
from ropuf.gateware.arbiter.puf import ArbiterPUF
from ropuf.sim import arbiter_model
from ropuf.spec import arbiter_behavioural


def load(ctx, dut, weights, seed, noise_scale):
    """Write every weight, the seed and the scale through the ``sim`` port (async helper)."""

    async def run():
        ctx.set(dut.sim.weight_we, 1)
        for chain, row in enumerate(weights):
            for stage, weight in enumerate(row):
                ctx.set(dut.sim.weight_addr, chain * (dut.n_stages + 1) + stage)
                ctx.set(dut.sim.weight_data, int(weight))
                await ctx.tick()
        ctx.set(dut.sim.weight_we, 0)
        ctx.set(dut.sim.seed, seed)
        ctx.set(dut.sim.seed_we, 1)
        ctx.set(dut.sim.noise_scale, noise_scale)
        await ctx.tick()
        ctx.set(dut.sim.seed_we, 0)

    return run()


def run_puf(dut, weights, challenges, *, seed, noise_scale, ready_gaps=0):
    """Load a die, evaluate *challenges*; returns [(bit, chains)] and the cycles each took from
    the cycle the challenge was taken to the first cycle its response was valid."""
    results, latencies = [], []

    async def testbench(ctx):
        await load(ctx, dut, weights, seed, noise_scale)
        ctx.set(dut.enable, 1)
        for challenge in challenges:
            ctx.set(dut.i_challenge.payload, challenge)
            ctx.set(dut.i_challenge.valid, 1)
            await ctx.tick().until(dut.i_challenge.ready)  # the cycle it is taken has ended
            ctx.set(dut.i_challenge.valid, 0)
            cycles = 1
            while not ctx.get(dut.o_response.valid):
                await ctx.tick()
                cycles += 1
            latencies.append(cycles)
            for _ in range(ready_gaps):
                await ctx.tick()
                assert ctx.get(dut.o_response.valid), "a response must stay valid until taken"
            payload = ctx.get(dut.o_response.payload)
            chains = [(payload.chains >> i) & 1 for i in range(dut.k)]
            results.append((payload.bit, chains))
            ctx.set(dut.o_response.ready, 1)
            await ctx.tick()
            ctx.set(dut.o_response.ready, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    return results, latencies


@pytest.mark.parametrize(
    ("n_stages", "k", "noise"),
    [(16, 1, False), (16, 1, True), (32, 2, True), (13, 3, False), (13, 3, True), (64, 4, True)],
)
def test_responses_equal_model_for_dies(n_stages, k, noise):
    die = arbiter_model.ArbiterDie(n_stages * 10 + k, n_stages=n_stages, k=k)
    temperature = 85.0 if noise else 25.0
    sim_load = arbiter_model.sim_load(die, temperature, 1.14)
    scale = sim_load.noise_scale * 4 if noise else 0  # more noise than the die: more flips
    challenges = arbiter_model.random_challenges(60, n_stages, rng=k)
    ints = arbiter_model.challenge_ints(challenges, n_stages)
    seed = 1000 + n_stages
    dut = ArbiterPUF(n_stages=n_stages, k=k, expose_chains=True, simulation=True)
    got, latencies = run_puf(dut, sim_load.weights, ints, seed=seed, noise_scale=scale)
    expected, _ = arbiter_behavioural.evaluate_many(
        sim_load.weights.tolist(), ints, seed=seed, noise_scale=scale
    )
    assert got == expected
    bits, chains, _ = arbiter_model.gateware_responses(
        sim_load.weights, challenges, seed=seed, noise_scale=scale
    )
    assert [b for b, _ in got] == bits.tolist()
    assert [c for _, c in got] == chains.tolist()
    # Constant time, whatever the challenge, the weights and the response.
    assert set(latencies) == {dut.cycles_per_evaluation}
    # Not a degenerate die: both responses occur.
    assert 0 < sum(bits) < len(bits)
    if noise:
        clean, _, _ = arbiter_model.gateware_responses(
            sim_load.weights, challenges, seed=seed, noise_scale=0
        )
        assert not np.array_equal(clean, bits), "noise must flip some responses"


def test_ties_answer_zero_and_extreme_weights_do_not_overflow():
    n = 8
    rng = random.Random(3)
    # Chain 0: every delta is even and many are zero (ties); chain 1: the extremes.
    tie_row = [1, 1, 1, 1, 0, 0, 0, 0, 0]
    extreme_row = [-(2**15)] * (n + 1)
    challenges = [0, 0x80, 0xFF, 0x0F, 0xF0, 0x03, *(rng.getrandbits(n) for _ in range(20))]
    dut = ArbiterPUF(n_stages=n, k=2, expose_chains=True, simulation=True)
    for scale in (0, 2**16 - 1):
        got, _ = run_puf(dut, [tie_row, extreme_row], challenges, seed=77, noise_scale=scale)
        expected, _ = arbiter_behavioural.evaluate_many(
            [tie_row, extreme_row], challenges, seed=77, noise_scale=scale
        )
        assert got == expected
    sums = [arbiter_behavioural.delay_sum(tie_row, c) for c in challenges]
    assert 0 in sums  # the rule is exercised: a tie answers 0
    got, _ = run_puf(dut, [tie_row, extreme_row], challenges, seed=77, noise_scale=0)
    assert all(chains[0] == int(s > 0) for (_, chains), s in zip(got, sums, strict=True))
    # The extremes of delta: every stage +w (challenge 0) and every stage -w (only the last
    # challenge bit set), with w = -2**15.
    assert arbiter_behavioural.delay_sum(extreme_row, 0) == -(2**15) * (n + 1)
    assert arbiter_behavioural.delay_sum(extreme_row, 0x80) == 2**15 * (n - 1)
    assert got[0][1][1] == 0 and got[1][1][1] == 1


def test_noise_continues_across_evaluations_and_a_seed_reload_restarts_it():
    n, k = 16, 2
    rng = random.Random(5)
    weights = [[rng.randrange(-40, 40) for _ in range(n + 1)] for _ in range(k)]
    challenges = [rng.getrandbits(n) for _ in range(30)]
    dut = ArbiterPUF(n_stages=n, k=k, expose_chains=True, simulation=True)
    results = []

    async def testbench(ctx):
        for seed in (0, arbiter_behavioural.DEFAULT_SEED, 9):
            await load(ctx, dut, weights, seed, 3000)
            ctx.set(dut.enable, 1)
            ctx.set(dut.o_response.ready, 1)
            got = []
            for challenge in challenges:
                ctx.set(dut.i_challenge.payload, challenge)
                ctx.set(dut.i_challenge.valid, 1)
                await ctx.tick().until(dut.i_challenge.ready)
                ctx.set(dut.i_challenge.valid, 0)
                (payload,) = (
                    await ctx.tick().sample(dut.o_response.payload).until(dut.o_response.valid)
                )
                got.append((payload.bit, [(payload.chains >> i) & 1 for i in range(k)]))
            ctx.set(dut.enable, 0)
            results.append(got)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    expected, _ = arbiter_behavioural.evaluate_many(weights, challenges, seed=0, noise_scale=3000)
    assert results[0] == expected
    assert results[1] == results[0], "seed 0 stands for DEFAULT_SEED"
    assert (
        results[2]
        == arbiter_behavioural.evaluate_many(weights, challenges, seed=9, noise_scale=3000)[0]
    )
    assert results[2] != results[0]
    # The noise really flips answers: the same challenge twice in a row differs somewhere.
    repeated, _ = arbiter_behavioural.evaluate_many(
        weights, [challenges[0]] * 40, seed=9, noise_scale=3000
    )
    assert len({bit for bit, _ in repeated}) == 2


def test_back_to_back_throughput_and_held_response():
    n, k = 8, 1
    weights = [[5, -3, 2, 7, -1, 4, -6, 1, 0]]
    dut = ArbiterPUF(n_stages=n, k=k, settle_cycles=3, expose_chains=True, simulation=True)
    challenges = list(range(0, 256, 23))
    got, latencies = run_puf(dut, weights, challenges, seed=1, noise_scale=0, ready_gaps=5)
    expected, _ = arbiter_behavioural.evaluate_many(weights, challenges, seed=1, noise_scale=0)
    assert got == expected
    assert set(latencies) == {dut.cycles_per_evaluation} == {2 * 3 + 1}

    taken = []

    async def testbench(ctx):
        await load(ctx, dut, weights, 1, 0)
        ctx.set(dut.enable, 1)
        ctx.set(dut.i_challenge.valid, 1)
        ctx.set(dut.o_response.ready, 1)
        for cycle in range(100):
            if ctx.get(dut.i_challenge.ready):
                taken.append(cycle)
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    # With a ready consumer, a challenge is taken every cycles_per_evaluation + 1 cycles.
    assert set(np.diff(taken)) == {dut.cycles_per_evaluation + 1}


def test_enable_low_takes_no_challenge():
    dut = ArbiterPUF(n_stages=4, simulation=True)

    async def testbench(ctx):
        ctx.set(dut.i_challenge.valid, 1)
        ctx.set(dut.i_challenge.payload, 5)
        for _ in range(30):
            await ctx.tick()
            assert not ctx.get(dut.i_challenge.ready)
            assert not ctx.get(dut.o_response.valid)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()


def test_chain_bits_are_only_streamed_when_asked():
    assert list(ArbiterPUF(k=3, simulation=True).response_layout.members) == ["bit"]
    layout = ArbiterPUF(k=3, expose_chains=True, simulation=True).response_layout
    assert dict(layout.members) == {"bit": 1, "chains": 3}
    assert ArbiterPUF().cycles_per_evaluation == 2 * 6 + 1


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_stages": 0}, ValueError, r"Stage count must be in 1\.\.256, not 0"),
        ({"n_stages": 300}, ValueError, r"Stage count must be in 1\.\.256, not 300"),
        ({"n_stages": 64.0}, TypeError, r"Stage count must be an integer, not 64\.0"),
        ({"k": 0}, ValueError, r"Chain count must be in 1\.\.8, not 0"),
        ({"k": 9}, ValueError, r"Chain count must be in 1\.\.8, not 9"),
        ({"k": True}, TypeError, r"Chain count must be an integer, not True"),
        ({"settle_cycles": 1}, ValueError, r"Settle cycles must be in 2\.\.255, not 1"),
        ({"expose_chains": 1}, TypeError, r"expose_chains must be a bool, not 1"),
        ({"simulation": "yes"}, TypeError, r"simulation must be a bool, not 'yes'"),
        (
            {"simulation": True, "placement": ICE40ArbiterPlacement()},
            ValueError,
            r"simulation body takes no placement",
        ),
        ({"placement": (1, 2)}, TypeError, r"Placement must be an .*, not \(1, 2\)"),
        (
            {"k": 7, "placement": ICE40ArbiterPlacement()},
            ValueError,
            r"7 chains need 7 logic columns, but only 6 lie between x0=18 and x_max=24",
        ),
        (
            {"n_stages": 120, "placement": ICE40ArbiterPlacement()},
            ValueError,
            r"chain of 120 stages needs 32 tile rows from y0=4, past y_max=30",
        ),
        (
            {"n_stages": 256, "placement": ECP5ArbiterPlacement(x0=60)},
            ValueError,
            r"chain of 256 stages needs 66 tile columns from x0=60, past x_max=120",
        ),
    ],
)
def test_bad_parameters(kwargs, error, message):
    with pytest.raises(error, match=message):
        ArbiterPUF(**kwargs)


def test_body_must_match_platform():
    with pytest.raises(ValueError, match="without a platform has no chains"):
        rtlil.convert(ArbiterPUF(n_stages=4))
    with pytest.raises(ValueError, match=r"simulation body .* cannot be built for"):
        ArbiterPUF(n_stages=4, simulation=True).elaborate(ICEBreakerPlatform())
    with pytest.raises(TypeError, match=r"Placement must be an ECP5ArbiterPlacement"):
        puf = ArbiterPUF(n_stages=4, placement=ICE40ArbiterPlacement())
        puf.elaborate(ULX3S_85F_Platform())
