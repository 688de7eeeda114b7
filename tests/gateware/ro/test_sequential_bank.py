# amaranth: UnusedElaboratable=no
"""The sequential ring bank: the array's two-window sequence (behavioural body) against the
model, the prescaled counter in Amaranth's simulator, and the iCE40 body's netlist."""

import random

import pytest
from amaranth.back import rtlil
from amaranth.hdl import Fragment, Instance, Signal
from amaranth.sim import Simulator
from amaranth_boards.icebreaker import ICEBreakerPlatform
from amaranth_boards.ulx3s import ULX3S_85F_Platform

from ropuf.gateware.ro.array import ROArray
from ropuf.gateware.ro.bank import nand_lut_init
from ropuf.gateware.ro.ecp5 import ECP5RingPlacement
from ropuf.gateware.ro.fpga import PrescaledCounter, SequentialRingBank
from ropuf.gateware.ro.ice40 import ICE40Ring, ICE40RingPlacement
from ropuf.sim.ro_measure import measure_pairs
from ropuf.spec.ro_pairs import neighbour_pairs

from .test_array import config_of, run_array


def test_nand_lut_init_is_the_nand_of_the_first_inputs():
    assert [nand_lut_init(k) for k in (1, 2, 3)] == [0x5555, 0x7777, 0x7F7F]
    for k in (1, 2, 3):
        for j in range(16):
            bits = [(j >> i) & 1 for i in range(k)]
            assert (nand_lut_init(k) >> j) & 1 == (not all(bits))


def test_sequential_array_measures_each_ring_in_its_own_window():
    rng = random.Random(18)
    dut = ROArray(
        n_ro=8,
        gate_cycles=30,
        max_edges_per_cycle=20.0,
        soft_width=10,
        simulation=True,
        sequential=True,
    )
    rates = [rng.randrange(15 << 16, 20 << 16) for _ in range(8)]
    rates[3] = rates[2]
    pairs = [*neighbour_pairs(8), (7, 0), (3, 2), (5, 5), (1, 8), (6, 1)]
    got, latencies = run_array(dut, rates, pairs, seed=3, noise_scale=0)
    # Without noise a ring's count does not depend on the window it runs in.
    expected, _ = measure_pairs(rates, pairs, config_of(dut), seed=3, noise_scale=0)
    assert got == expected
    assert [r.invalid for r in got] == [0] * 6 + [1, 1, 0]
    # Constant time, two windows per pair.
    assert dut.cycles_per_result == 2 * (dut.gate_cycles + dut.settle_cycles + 1) + 2
    assert set(latencies) == {dut.cycles_per_result - 1}


def test_sequential_array_flags_an_overflow_in_either_window():
    dut = ROArray(
        n_ro=3,
        gate_cycles=16,
        max_edges_per_cycle=2.0,
        soft_width=4,
        simulation=True,
        sequential=True,
    )
    rates = [4 << 16, 1 << 16, 1 << 16]
    pairs = [(0, 1), (1, 0), (1, 2)]
    got, _ = run_array(dut, rates, pairs, seed=1, noise_scale=0)
    expected, _ = measure_pairs(rates, pairs, config_of(dut), seed=1, noise_scale=0)
    assert got == expected
    assert [r.overflow for r in got] == [1, 1, 0]


@pytest.mark.parametrize("edges", [0, 1, 2, 3, 7, 62, 63, 64, 200])
def test_prescaled_counter_counts_rising_edges_and_saturates(edges):
    width = 6
    dut = PrescaledCounter(count_width=width)
    seen = {}

    async def testbench(ctx):
        ctx.set(dut.clear, 1)
        await ctx.delay(1e-6)
        ctx.set(dut.clear, 0)
        for _ in range(edges):
            ctx.set(dut.ring, 1)
            await ctx.delay(1e-6)
            ctx.set(dut.ring, 0)
            await ctx.delay(1e-6)
        seen["count"] = ctx.get(dut.count)
        seen["overflow"] = ctx.get(dut.overflow)
        ctx.set(dut.clear, 1)
        await ctx.delay(1e-6)
        seen["cleared"] = (ctx.get(dut.count), ctx.get(dut.overflow))

    sim = Simulator(dut)
    sim.add_testbench(testbench)
    sim.run()
    top = 2**width - 1
    # Overflow exactly when the edges exceed the top (as the behavioural body); the saturated
    # count is then within three edges of the top (the two toggle stages keep toggling).
    if edges <= top:
        assert (seen["count"], seen["overflow"]) == (edges, 0)
    else:
        assert seen["overflow"] == 1
        assert top - 3 <= seen["count"] <= top
    assert seen["cleared"] == (0, 0)


def test_prescaled_counter_refuses_a_width_below_three():
    for width in (2, 1, 0):
        with pytest.raises(ValueError, match="count_width must be at least 3"):
            PrescaledCounter(count_width=width)
    with pytest.raises(TypeError, match="count_width"):
        PrescaledCounter(count_width=2.0)


def ring_instances(n_ro, stages=5):
    ring = ICE40Ring(stages=stages, n_ro=n_ro)
    bank = SequentialRingBank(ring=ring, n_ro=n_ro, count_width=12)
    fragment = Fragment.get(bank, ICEBreakerPlatform())
    found = {}
    for sub, name, _src in fragment.subfragments:
        if isinstance(sub, Instance):
            found[name] = sub
    return ring, found


def test_ice40_body_folds_the_enable_into_the_first_lut():
    n_ro = 40
    ring, found = ring_instances(n_ro)
    assert len(found) == n_ro * 5  # no other LUT instances: no per-ring comparator
    for index in range(n_ro):
        for stage, bel in enumerate(ring.bels(index)):
            cell = found[f"ro{index}_lut{stage}"]
            assert cell.attrs["BEL"] == bel
            init = cell.parameters["LUT_INIT"].value
            assert init == nand_lut_init(3 if stage == 0 else 1)
        first = found[f"ro{index}_lut0"].ports
        row, column = first["I0"][0], first["I1"][0]
        # One-hot selects decoded once: ring i on row i // columns and column i % columns.
        assert repr(row) == f"(slice (sig row) {index // 16}:{index // 16 + 1})"
        assert repr(column) == f"(slice (sig column) {index % 16}:{index % 16 + 1})"
        assert repr(first["I2"][0]) == f"(sig ro{index}_n4)"


def test_families_pick_their_bank_and_the_array_must_match():
    ice40, ecp5 = ICEBreakerPlatform(), ULX3S_85F_Platform()
    assert ROArray(n_ro=20, ring_placement=ICE40RingPlacement()).sequential
    assert not ROArray(n_ro=20, ring_placement=ECP5RingPlacement()).sequential
    rtlil.convert(ROArray(n_ro=20, sequential=True), platform=ice40)
    rtlil.convert(ROArray(n_ro=20, ring_placement=ECP5RingPlacement()), platform=ecp5)
    with pytest.raises(ValueError, match=r"one ring per gate window: .* sequential=True"):
        rtlil.convert(ROArray(n_ro=20), platform=ice40)
    with pytest.raises(ValueError, match=r"both rings at once: .* sequential=False"):
        rtlil.convert(ROArray(n_ro=20, sequential=True), platform=ecp5)


class ToggleRings:
    """Stand-in rings for simulation: ring *i* toggles every system clock cycle while both its
    selects are high, and is high while stopped (as a NAND ring of an odd stage count)."""

    placement = ICE40RingPlacement()

    def __init__(self):
        self.outputs = []

    def __call__(self, m, index, row, column):
        out = Signal(init=1, name=f"toggle{index}")
        with m.If(row & column):
            m.d.sync += out.eq(~out)
        with m.Else():
            m.d.sync += out.eq(1)
        self.outputs.append(out)
        return out


@pytest.mark.parametrize("gate", [1, 6, 13])
def test_sequential_bank_runs_and_counts_only_the_selected_ring(gate):
    n_ro = 40  # three rows of 16, the last one partly filled
    rings = ToggleRings()
    dut = SequentialRingBank(ring=rings, n_ro=n_ro, count_width=8)
    counts = {}

    async def testbench(ctx):
        for sel in (0, 1, 15, 16, 17, 33, 39):
            ctx.set(dut.bank.sel_a, sel)
            ctx.set(dut.bank.clear, 1)
            await ctx.tick()
            ctx.set(dut.bank.clear, 0)
            ctx.set(dut.bank.gate, 1)
            for _ in range(gate):
                await ctx.tick()
                running = [i for i, out in enumerate(rings.outputs) if not ctx.get(out)]
                assert set(running) <= {sel}
            ctx.set(dut.bank.gate, 0)
            for _ in range(3):
                await ctx.tick()
            assert all(ctx.get(out) for out in rings.outputs)
            counts[sel] = (ctx.get(dut.bank.count_a), ctx.get(dut.bank.overflow_a))
            assert ctx.get(dut.bank.count_b) == 0

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.run()
    # The selected ring falls ceil(gate / 2) times; the XOR of it and 39 high rings rises then.
    assert counts == {sel: ((gate + 1) // 2, 0) for sel in (0, 1, 15, 16, 17, 33, 39)}
