"""Simulation body of the ring-oscillator bank: behavioural rings with run-time edge rates.

The arithmetic is defined once in :mod:`ropuf.spec.ro_behavioural`; this file only builds it.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from ropuf.gateware.xorshift import xorshift32
from ropuf.spec import ro_behavioural

from .bank import RingBankSignature

__all__ = ["SimLoadSignature", "SimRingBank"]


class SimLoadSignature(wiring.Signature):
    """Simulation-only port that loads a die: edge rates, the noise seed and the noise scale.

    Members
    -------
    rate_addr : Out(range(n_ro))
        RO whose edge rate is written when ``rate_we`` is high.
    rate_data : Out(RATE_BITS)
        Edge rate in rising edges per system clock cycle, ``RATE_FRAC`` fraction bits.
    rate_we : Out(1)
        Write strobe (one rate per cycle).
    seed : Out(32)
        Noise generator seed, loaded when ``seed_we`` is high (zero means ``DEFAULT_SEED``).
    seed_we : Out(1)
        Seed load strobe.
    noise_scale : Out(NOISE_SCALE_BITS)
        Amplitude of each ring's own jitter (see :func:`ropuf.spec.ro_behavioural.noise_scale_for`);
        zero for none.
    common_scale : Out(NOISE_SCALE_BITS)
        Amplitude of the noise both rings of a measurement share; zero for none.
    """

    def __init__(self, n_ro: int):
        super().__init__(
            {
                "rate_addr": Out(range(n_ro)),
                "rate_data": Out(ro_behavioural.RATE_BITS),
                "rate_we": Out(1),
                "seed": Out(32),
                "seed_we": Out(1),
                "noise_scale": Out(ro_behavioural.NOISE_SCALE_BITS),
                "common_scale": Out(ro_behavioural.NOISE_SCALE_BITS),
            }
        )


class SimRingBank(wiring.Component):
    """Two time-multiplexed edge counters over behavioural rings (for Verilator and Amaranth sim).

    Each RO is a phase accumulator advanced by its edge rate every system clock cycle while the
    gate is open; see :mod:`ropuf.spec.ro_behavioural` for the exact arithmetic and the noise.

    Parameters
    ----------
    n_ro : int
        Number of ring oscillators.
    count_width : int
        Width of each edge count; counts saturate at its maximum and raise ``overflow``.

    Attributes
    ----------
    bank : In(RingBankSignature)
        Select, clear, gate; counts valid the cycle after the gate closes.
    sim : In(SimLoadSignature)
        Loads the die at run time.
    """

    def __init__(self, *, n_ro: int, count_width: int):
        self._n_ro = n_ro
        self._count_width = count_width
        super().__init__(
            {
                "bank": In(RingBankSignature(n_ro=n_ro, count_width=count_width)),
                "sim": In(SimLoadSignature(n_ro)),
            }
        )

    def elaborate(self, platform):
        m = Module()
        frac = ro_behavioural.RATE_FRAC

        m.submodules.rates = rates = memory.Memory(
            shape=ro_behavioural.RATE_BITS, depth=self._n_ro, init=[]
        )
        write = rates.write_port()
        m.d.comb += [
            write.addr.eq(self.sim.rate_addr),
            write.data.eq(self.sim.rate_data),
            write.en.eq(self.sim.rate_we),
        ]

        state = Signal(32, init=ro_behavioural.DEFAULT_SEED)
        with m.If(self.sim.seed_we):
            m.d.sync += state.eq(
                Mux(self.sim.seed == 0, ro_behavioural.DEFAULT_SEED, self.sim.seed)
            )

        # The draws of one measurement: a group for the common noise, then one per ring.
        groups = ro_behavioural.GROUPS_PER_MEASUREMENT
        draws = []
        value = state
        for index in range(groups * ro_behavioural.DRAWS_PER_RO):
            draw = Signal(32, name=f"draw{index}")  # a signal per step keeps the logic linear
            m.d.comb += draw.eq(xorshift32(value))
            draws.append(draw)
            value = draw
        parts = []
        for group, scale in enumerate(
            (self.sim.common_scale, self.sim.noise_scale, self.sim.noise_scale)
        ):
            chunk = draws[
                group * ro_behavioural.DRAWS_PER_RO : (group + 1) * ro_behavioural.DRAWS_PER_RO
            ]
            total = Signal(signed(20), name=f"noise_sum{group}")
            m.d.comb += total.eq(sum(d[16:] for d in chunk) - ro_behavioural.NOISE_CENTRE)
            scaled = Signal(signed(20 + ro_behavioural.NOISE_SCALE_BITS + 1), name=f"noise{group}")
            m.d.comb += scaled.eq(total * Cat(scale, Const(0, 1)).as_signed())
            parts.append(scaled >> ro_behavioural.NOISE_SHIFT)
        offsets = [parts[0] + parts[1], parts[0] + parts[2]]

        acc_width = self._count_width + frac + 2  # sign bit and one guard bit
        for ro, sel, count in (
            (0, self.bank.sel_a, self.bank.count_a),
            (1, self.bank.sel_b, self.bank.count_b),
        ):
            read = rates.read_port()
            acc = Signal(signed(acc_width), name=f"acc_{'ab'[ro]}")
            m.d.comb += read.addr.eq(sel)
            with m.If(self.bank.clear):
                m.d.sync += acc.eq(offsets[ro])
            with m.Elif(self.bank.gate):
                m.d.sync += acc.eq(acc + read.data)
            edges = acc >> frac
            top = 2**self._count_width - 1
            with m.If(edges < 0):
                m.d.comb += count.eq(0)
            with m.Elif(edges > top):
                m.d.comb += count.eq(top)
            with m.Else():
                m.d.comb += count.eq(edges)
            overflow = self.bank.overflow_a if ro == 0 else self.bank.overflow_b
            m.d.comb += overflow.eq((edges < 0) | (edges > top))

        with m.If(self.bank.clear & ~self.sim.seed_we):
            m.d.sync += state.eq(draws[-1])

        return m
