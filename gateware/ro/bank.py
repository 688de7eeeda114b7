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

from amaranth.hdl import Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["PlacedRings", "RingBankSignature", "nand_lut_init"]


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


def nand_lut_init(inputs: int) -> int:
    """The 16-bit truth table of a 4-input LUT (output = INIT[{in3, in2, in1, in0}], both
    families' order) computing the NAND of its first *inputs* inputs (1: an inverter); the other
    inputs are tied to 0."""
    used = 2**inputs - 1
    return sum(1 << j for j in range(16) if j & used != used)


class PlacedRings:
    """A family's placed rings, one ring a logic tile: stage 0 a NAND of the ring's enables and
    the last stage's output (on the LUT input after the enables), the other stages inverters,
    one LUT each on the BELs of :meth:`bels`. A family gives ``FAMILY``, ``CELLS_PER_TILE``,
    ``CELLS`` (what its cells are called), ``PLACEMENT`` (the default placement class),
    :meth:`bels` and :meth:`lut`.

    Raises
    ------
    ValueError
        A ring of *stages* does not fit one tile.
    """

    FAMILY: str
    CELLS_PER_TILE: int
    CELLS: str
    PLACEMENT: type

    def __init__(self, *, stages: int, n_ro: int, placement=None):
        if stages > self.CELLS_PER_TILE:
            raise ValueError(
                f"An {self.FAMILY} ring must fit one tile of {self.CELLS_PER_TILE} {self.CELLS}, "
                f"not {stages!r} stages"
            )
        self.stages = stages
        self.placement = placement or self.PLACEMENT()
        self.n_ro = n_ro

    def bels(self, index: int) -> list[str]:
        """The BEL of every stage of ring *index*, stage 0 (the NAND) first."""
        raise NotImplementedError

    def lut(self, *, bel: str, inputs: list, out):
        """The LUT instance of one stage: the NAND (:func:`nand_lut_init`) of *inputs* (one to
        three signals, on the LUT's first inputs in order), driving *out*."""
        raise NotImplementedError

    def __call__(self, m, index: int, *enables: Signal) -> Signal:
        """Ring *index* in module *m*, oscillating while all *enables* (one or two) are high;
        returns its output (high while stopped: a NAND and an even number of inverters)."""
        nets = [Signal(name=f"ro{index}_n{stage}") for stage in range(self.stages)]
        for stage, bel in enumerate(self.bels(index)):
            feedback = nets[stage - 1]  # stage 0 closes the loop from the last stage
            inputs = [*enables, feedback] if stage == 0 else [feedback]
            m.submodules[f"ro{index}_lut{stage}"] = self.lut(
                bel=bel, inputs=inputs, out=nets[stage]
            )
        return nets[-1]
