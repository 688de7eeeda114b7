"""The interface every ring-oscillator bank body offers, and the dispatch on the platform.

A *bank* holds the rings and two edge counters. The array's sequencer selects two rings, clears
the counters, opens the gate for a fixed number of system clock cycles (only the two selected
rings oscillate), closes it, waits for the counters to settle and reads both counts. Measuring
the two rings of a pair at the same time cancels drift common to both (temperature, supply).

Why two time-multiplexed counters rather than one per RO: a counter per RO costs a count-width
register and adder per ring (256 x 18 flip-flops and LUTs, more than the iCE40UP5K's 5,280
logic cells with everything else), whereas two counters and two n:1 multiplexers cost about
2 x (18 + n/3) cells. The price is time: one gate window per pair, which at 12 MHz and a
4,096-cycle window is 0.35 ms per response bit.

Three bodies implement the same interface: :class:`~ropuf.gateware.ro.behavioural.SimRingBank`
(behavioural, for simulation), and the iCE40 and ECP5 bodies of placed LUT rings.
"""

from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["RingBankSignature"]


class RingBankSignature(wiring.Signature):
    """Sequencer-side view of a ring-oscillator bank.

    Members
    -------
    sel_a, sel_b : Out(range(n_ro))
        The two rings to measure; stable from the clear cycle until the counts are read.
    clear : Out(1)
        Zero both counters (one cycle, before the gate opens).
    gate : Out(1)
        The selected rings oscillate and are counted while high.
    count_a, count_b : In(count_width)
        Rising edges counted; valid ``settle`` cycles after ``gate`` falls (see the body).
    overflow_a, overflow_b : In(1)
        The count left its range and was saturated.
    """

    def __init__(self, *, n_ro: int, count_width: int):
        self._n_ro = n_ro
        self._count_width = count_width
        super().__init__(
            {
                "sel_a": Out(range(n_ro)),
                "sel_b": Out(range(n_ro)),
                "clear": Out(1),
                "gate": Out(1),
                "count_a": In(count_width),
                "count_b": In(count_width),
                "overflow_a": In(1),
                "overflow_b": In(1),
            }
        )

    @property
    def n_ro(self) -> int:
        return self._n_ro

    @property
    def count_width(self) -> int:
        return self._count_width
