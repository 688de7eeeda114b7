"""FPGA body of the ring-oscillator bank: placed LUT rings, two multiplexers, ring-clocked counters.

The rings themselves are vendor primitives, one file per family (:mod:`.ice40`,
:mod:`.ecp5`); :func:`ring_bank_for` picks the family from the platform. The rest is
shared: ring *i* oscillates only while the gate is open and it is selected; each of the two
selected rings clocks its own counter (an asynchronous-reset clock domain driven by the ring
through a multiplexer), which the sequencer clears before and reads after the gate window, when
the rings have stopped and the counts are static.
"""

from amaranth.hdl import Array, ClockDomain, ClockSignal, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In
from amaranth.vendor import LatticeECP5Platform, LatticeICE40Platform

from .bank import RingBankSignature
from .ecp5 import ECP5Ring
from .ice40 import ICE40Ring

__all__ = ["FPGARingBank", "ring_bank_for"]


class FPGARingBank(wiring.Component):
    """Rings on fabric with two ring-clocked edge counters.

    Parameters
    ----------
    ring : callable
        ``ring(m, index, enable) -> Signal``: instantiates ring *index* (placed on fixed BELs) in
        module *m*, oscillating while *enable* is high, and returns its output.
    n_ro : int
        Number of rings.
    count_width : int
        Counter width; counts saturate at the maximum and set ``overflow``.

    Attributes
    ----------
    bank : In(RingBankSignature)
        Counts are valid a few cycles after the gate closes (the sequencer's settle time).
    """

    def __init__(self, *, ring, n_ro: int, count_width: int):
        self._ring = ring
        self._n_ro = n_ro
        self._count_width = count_width
        super().__init__({"bank": In(RingBankSignature(n_ro=n_ro, count_width=count_width))})

    def elaborate(self, platform):
        m = Module()
        bank = self.bank
        outputs = []
        for index in range(self._n_ro):
            enable = Signal(name=f"ro{index}_en")
            m.d.comb += enable.eq(bank.gate & ((bank.sel_a == index) | (bank.sel_b == index)))
            outputs.append(self._ring(m, index, enable))
        rings = Array(outputs)

        top = 2**self._count_width - 1
        for side, sel, count, overflow in (
            ("a", bank.sel_a, bank.count_a, bank.overflow_a),
            ("b", bank.sel_b, bank.count_b, bank.overflow_b),
        ):
            domain = f"ro_{side}"
            m.domains += ClockDomain(domain, async_reset=True, local=True)
            m.d.comb += [
                ClockSignal(domain).eq(rings[sel]),
                ResetSignal(domain).eq(bank.clear),
            ]
            counter = Signal(self._count_width, name=f"count_{side}")
            saturated = Signal(name=f"saturated_{side}")
            with m.If(counter == top):
                m.d[domain] += saturated.eq(1)
            with m.Else():
                m.d[domain] += counter.eq(counter + 1)
            m.d.comb += [count.eq(counter), overflow.eq(saturated)]
        return m


def ring_bank_for(
    platform, *, n_ro: int, stages: int, count_width: int, placement=None
) -> FPGARingBank:
    """The ring bank for *platform*'s FPGA family, its rings where *placement* says (the
    family's default placement when None).

    Raises
    ------
    ValueError
        The family has no ring body (only iCE40 and ECP5 do).
    """
    match platform:
        case LatticeICE40Platform():
            ring_body = ICE40Ring
        case LatticeECP5Platform():
            ring_body = ECP5Ring
        case _:
            raise ValueError(
                f"No ring-oscillator body for {type(platform).__name__}: "
                "ropuf has rings for iCE40 and ECP5"
            )
    ring = ring_body(stages=stages, n_ro=n_ro, placement=placement)
    return FPGARingBank(ring=ring, n_ro=n_ro, count_width=count_width)
