"""FPGA bodies of the ring-oscillator bank: placed LUT rings and ring-clocked, prescaled counters.

The rings themselves are vendor primitives, one file per family (:mod:`.ice40`,
:mod:`.ecp5`); :func:`ring_bank_for` picks the family's body from the platform. Two bodies:

* :class:`FPGARingBank` (ECP5): a per-ring enable comparator, two n:1 multiplexers, two
  counters; both rings of a pair run in the same gate window.
* :class:`SequentialRingBank` (iCE40): the enable folded into each ring's first LUT (a NAND of
  one-hot row select, one-hot column select and the feedback; the selects are decoded once), an
  XOR tree of all ring outputs as the combiner (a stopped ring's output is constant, so the
  tree toggles with the one running ring) and ONE counter. It measures one ring per gate
  window; :class:`~ropuf.gateware.ro.array.ROArray` runs two windows per pair.

Both count through :class:`PrescaledCounter`: a toggle flip-flop clocked by the ring (the count's
least significant bit) ripples into the counter, which so runs at half the ring frequency.
The sequencer clears the counters before and reads them after the gate window, when the rings
have stopped and the counts are static.
"""

import re

from amaranth.hdl import Array, Cat, ClockDomain, ClockSignal, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.vendor import LatticeECP5Platform, LatticeICE40Platform

from ropuf.spec.checks import check_int

from .bank import RingBankSignature
from .ecp5 import ECP5Ring
from .ice40 import ICE40Ring

__all__ = [
    "RING_CLOCK_NETS",
    "FPGARingBank",
    "PrescaledCounter",
    "SequentialRingBank",
    "ring_bank_for",
    "ring_clock_divisor",
]

#: The nets that clock ring-domain flip-flops, as nextpnr names them: a ring's own nets, or the
#: prescaled counter's clocks (``ring``, ``ring_clock``, ``ring_half``, ``ring_half_clk``, ...,
#: with a tool's suffix such as ``_$glb_clk``). The prescaler's toggle flip-flops are also the
#: count's bits 0 and 1, and Yosys may name their nets after the bank's count port instead
#: (``bank__count_a[0]``).
RING_CLOCK_NETS = r"\bro\d+_n\d+|\bring(_half|_quarter)?(_clk)?(_|$)|count_[ab]\[[01]\]"
_HALF_RATE = re.compile(r"ring_half|count_[ab]\[0\]")
_QUARTER_RATE = re.compile(r"ring_quarter|count_[ab]\[1\]")


def ring_clock_divisor(net: str) -> int:
    """How many ring edges one edge of the ring-clock net *net* (:data:`RING_CLOCK_NETS`) is:
    1 for a ring, 2 and 4 for the prescaler's half- and quarter-rate clocks."""
    if _QUARTER_RATE.search(net):
        return 4
    return 2 if _HALF_RATE.search(net) else 1


class PrescaledCounter(wiring.Component):
    """Rising edges of ``ring``, counted in ring-clocked flip-flops: a toggle flip-flop clocked
    by ``ring`` is bit 0, a second one clocked by its falling edges bit 1, and the second's
    falling edges clock a ``count_width - 2``-bit counter (a two-stage ripple prescaler), so
    nothing but one flip-flop runs at the ring frequency and the counter's carry chain at a
    quarter of it. Asynchronously cleared.

    Margin (nextpnr's model, iCE40UP5K): a toggle flip-flop reaches 142.5 MHz; the counter,
    placed in a nearly full device, 60-76 MHz, so one stage (a half-rate counter) counted rings
    up to only 120-150 MHz depending on placement, and two stages leave the toggle flip-flop as
    the limit. The fastest plausible UP5K ring is not known from measurement yet: icestorm's
    HX1K timing tables give about 192 MHz for 3 LUTs and 115 MHz for 5, the UP5K row about
    80 and 48 MHz; bring-up must measure it. ECP5 counters were at 207-218 MHz unprescaled
    against 198 MHz measured 5-LUT rings; the prescaler lifts that limit to the toggle
    flip-flop's (not measured here).

    Parameters
    ----------
    count_width : int
        Width of the count (at least 3); past its maximum the count stays within three edges of
        it (the toggle stages keep toggling) and ``overflow`` is set.

    Attributes
    ----------
    ring : In(1)
        The clock to count (a ring output).
    clear : In(1)
        Zero the count and the overflow flag (asynchronous).
    count : Out(count_width)
        Rising edges of ``ring`` since ``clear``; static once ``ring`` stops and the ripple has
        settled (a few ns).
    overflow : Out(1)
        The counter reached its maximum; the count is not to be trusted.

    Raises
    ------
    TypeError, ValueError
        ``count_width`` is not an integer of at least 2.
    """

    def __init__(self, *, count_width: int):
        self._count_width = check_int("count_width", count_width, 3)
        super().__init__(
            {"ring": In(1), "clear": In(1), "count": Out(count_width), "overflow": Out(1)}
        )

    def elaborate(self, platform):
        m = Module()
        m.domains.ring = ClockDomain(async_reset=True, local=True)
        m.domains.ring_half = ClockDomain(async_reset=True, local=True, clk_edge="neg")
        m.domains.ring_quarter = ClockDomain(async_reset=True, local=True, clk_edge="neg")
        # Kept under names that build reports recognise as ring clocks (RING_CLOCK_NETS): without
        # a kept public name Yosys may name the clock nets after unrelated logic.
        ring = Signal(name="ring_clock", attrs={"keep": 1})
        toggle = Signal(name="ring_half", attrs={"keep": 1})
        toggle_2 = Signal(name="ring_quarter", attrs={"keep": 1})
        m.d.comb += [
            ring.eq(self.ring),
            ClockSignal("ring").eq(ring),
            ResetSignal("ring").eq(self.clear),
            ClockSignal("ring_half").eq(toggle),
            ResetSignal("ring_half").eq(self.clear),
            ClockSignal("ring_quarter").eq(toggle_2),
            ResetSignal("ring_quarter").eq(self.clear),
        ]
        m.d.ring += toggle.eq(~toggle)
        m.d.ring_half += toggle_2.eq(~toggle_2)
        counter = Signal(self._count_width - 2)
        saturated = Signal()
        with m.If(counter == 2 ** len(counter) - 1):
            m.d.ring_quarter += saturated.eq(1)
        with m.Else():
            m.d.ring_quarter += counter.eq(counter + 1)
        m.d.comb += [self.count.eq(Cat(toggle, toggle_2, counter)), self.overflow.eq(saturated)]
        return m


class _FabricRingBank(wiring.Component):
    """What both fabric bodies hold: the family's rings, their number and the counter width,
    behind a :class:`~.bank.RingBankSignature` port ``bank``."""

    def __init__(self, *, ring, n_ro: int, count_width: int):
        self._ring = ring
        self._n_ro = n_ro
        self._count_width = count_width
        super().__init__({"bank": In(RingBankSignature(n_ro=n_ro, count_width=count_width))})


class FPGARingBank(_FabricRingBank):
    """Rings on fabric with two ring-clocked edge counters; both rings of a pair run at once.

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

    def elaborate(self, platform):
        m = Module()
        bank = self.bank
        outputs = []
        for index in range(self._n_ro):
            enable = Signal(name=f"ro{index}_en")
            m.d.comb += enable.eq(bank.gate & ((bank.sel_a == index) | (bank.sel_b == index)))
            outputs.append(self._ring(m, index, enable))
        rings = Array(outputs)
        for side, sel, count, overflow in (
            ("a", bank.sel_a, bank.count_a, bank.overflow_a),
            ("b", bank.sel_b, bank.count_b, bank.overflow_b),
        ):
            counter = PrescaledCounter(count_width=self._count_width)
            m.submodules[f"counter_{side}"] = counter
            m.d.comb += [
                counter.ring.eq(rings[sel]),
                counter.clear.eq(bank.clear),
                count.eq(counter.count),
                overflow.eq(counter.overflow),
            ]
        return m


class SequentialRingBank(_FabricRingBank):
    """Rings on fabric, gated by one-hot row and column selects, an XOR combiner and one
    prescaled counter: ring ``sel_a`` is measured into ``count_a`` (see the module docstring).

    Ring *i* sits in row ``i // columns`` and column ``i % columns`` (``columns`` of the
    ring placement, so a row of rings is a row of tiles). ``row[r] = gate & (sel_a // columns
    == r)`` and ``column[c] = (sel_a % columns == c)`` are decoded once; ring *i* runs while
    both of its selects are high. Costs per ring: its stages, a third of an XOR-tree LUT, and
    its share of the ``rows + columns`` select decoders and of the one counter.

    Parameters
    ----------
    ring : PlacedRings
        The family's rings (called with two enables: row and column).
    n_ro : int
        Number of rings.
    count_width : int
        Counter width; counts saturate at the maximum and set ``overflow``.

    Attributes
    ----------
    bank : In(RingBankSignature)
        Only ``sel_a``, ``clear``, ``gate``, ``count_a`` and ``overflow_a`` are used;
        ``count_b`` and ``overflow_b`` are zero. Counts are valid a few cycles after the gate
        closes (the sequencer's settle time).
    """

    def elaborate(self, platform):
        m = Module()
        bank = self.bank
        columns = self._ring.placement.columns
        n_rows = -(-self._n_ro // columns)
        row = Signal(n_rows)
        column = Signal(columns)
        for r in range(n_rows):
            m.d.comb += row[r].eq(bank.gate & (bank.sel_a // columns == r))
        for c in range(columns):
            m.d.comb += column[c].eq(bank.sel_a % columns == c)
        outputs = [
            self._ring(m, index, row[index // columns], column[index % columns])
            for index in range(self._n_ro)
        ]
        combined = Signal(name="ring_combined")
        m.d.comb += combined.eq(Cat(*outputs).xor())
        m.submodules.counter = counter = PrescaledCounter(count_width=self._count_width)
        m.d.comb += [
            counter.ring.eq(combined),
            counter.clear.eq(bank.clear),
            bank.count_a.eq(counter.count),
            bank.overflow_a.eq(counter.overflow),
        ]
        return m


def ring_bank_for(
    platform, *, n_ro: int, stages: int, count_width: int, sequential: bool, placement=None
) -> wiring.Component:
    """The ring bank for *platform*'s FPGA family, its rings where *placement* says (the
    family's default placement when None): :class:`SequentialRingBank` for a family whose
    placement says ``SEQUENTIAL`` (iCE40), else :class:`FPGARingBank`. *sequential* is what the
    caller's sequencer does (one ring per gate window).

    Raises
    ------
    ValueError
        The family has no ring body (only iCE40 and ECP5 do), or its body does not measure as
        *sequential* says.
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
    family_sequential = ring_body.PLACEMENT.SEQUENTIAL
    if sequential != family_sequential:
        raise ValueError(
            f"The {type(platform).__name__} ring bank measures "
            + ("one ring per gate window" if family_sequential else "both rings at once")
            + f": build the RO array with sequential={family_sequential}"
        )
    bank_body = SequentialRingBank if family_sequential else FPGARingBank
    ring = ring_body(stages=stages, n_ro=n_ro, placement=placement)
    return bank_body(ring=ring, n_ro=n_ro, count_width=count_width)
