"""Ring-oscillator PUF array: measures requested pairs and streams response bits with soft values.

The body that holds the rings is chosen by the platform (see :mod:`ropuf.gateware.ro.bank`):
behavioural rings in simulation, placed LUT rings on iCE40 and ECP5. Everything else (pair
checks, the measurement sequence, comparison and saturation) is shared and lives here.
"""

from amaranth.hdl import Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ropuf.gateware.checks import check_body_choice, check_int, parameter
from ropuf.spec.device_config import count_width_for
from ropuf.spec.ro_pairs import PAIR_INDEX_BITS

from .bank import RingBankSignature
from .behavioural import SimLoadSignature, SimRingBank
from .fpga import ring_bank_for

__all__ = ["PairLayout", "ROArray", "ResultLayout", "count_width_for", "saturated"]

#: A request: compare RO ``a`` with RO ``b`` (indices wider than any array, so that a bad index
#: from helper data is representable and can be rejected).
PairLayout = data.StructLayout({"a": PAIR_INDEX_BITS, "b": PAIR_INDEX_BITS})


def ResultLayout(count_width: int, soft_width: int) -> data.StructLayout:  # noqa: N802
    """Layout of one measurement result.

    Fields
    ------
    bit : 1
        Response bit: 1 when ``count_a > count_b``.
    soft : signed(soft_width)
        ``count_a - count_b`` saturated to ``+-(2**(soft_width - 1) - 1)``: the bit's reliability.
    count_a, count_b : count_width
        The raw edge counts (enrollment reads these).
    overflow : 1
        A count left its range; the result is not to be trusted.
    invalid : 1
        The pair named an RO that does not exist, or the same RO twice; no measurement was
        made (the result still takes the same number of cycles, and bit and soft are zero).
    """
    return data.StructLayout(
        {
            "bit": 1,
            "soft": signed(soft_width),
            "count_a": count_width,
            "count_b": count_width,
            "overflow": 1,
            "invalid": 1,
        }
    )


def saturated(m: Module, value, width: int, *, name: str) -> Signal:
    """*value* clamped to ``+-(2**(width - 1) - 1)``, a signed *width*-bit signal (driven
    combinationally, under the conditions active where it is called): the soft values'
    saturation (:func:`ropuf.spec.helper_data.corrected_soft` on the host)."""
    limit = 2 ** (width - 1) - 1
    out = Signal(signed(width), name=name)
    with m.If(value > limit):
        m.d.comb += out.eq(limit)
    with m.Elif(value < -limit):
        m.d.comb += out.eq(-limit)
    with m.Else():
        m.d.comb += out.eq(value)
    return out


class ROArray(wiring.Component):
    """Ring-oscillator PUF: measure RO pairs on request, answer bit, soft value and counts.

    Parameters
    ----------
    n_ro : int
        Number of ring oscillators, 2..65535.
    stages : int
        LUTs per ring (hardware bodies), odd and at least 3: one NAND (the enable) and an even
        number of buffers would not oscillate with an even total of inversions.
    gate_cycles : int
        Gate window in system clock cycles (1..2**24).
    max_edges_per_cycle : float
        Highest edge rate of any ring at the fastest corner, in rising edges per system clock
        cycle; sets the counter width so that no count overflows.
    soft_width : int
        Width of the signed soft value, 2..32.
    settle_cycles : int
        Cycles between closing the gate and reading the counters (the rings stop and the
        counters, clocked by the rings on hardware, settle), at least 1.
    simulation : bool
        Build the behavioural simulation body and expose its ``sim`` load port; required when
        elaborating without a platform, refused with an FPGA platform.
    ring_placement : ICE40RingPlacement or ECP5RingPlacement, optional
        Where the FPGA body's rings go (the family's default when omitted).
    sequential : bool, optional
        Measure the two rings of a pair in two consecutive gate windows (ring ``a``, then ring
        ``b``) through the body's one counter, as the iCE40 body requires; drift common to both
        rings is then no longer cancelled. Default: what *ring_placement*'s family needs
        (``SEQUENTIAL``), else False. The behavioural body serves both; an FPGA body of the other
        kind is refused at elaboration.

    Attributes
    ----------
    enable : In(1)
        Requests are taken only while high; the rings never run while low.
    i_pairs : In(stream.Signature(PairLayout))
        Pairs to measure, one result each, in order.
    o_results : Out(stream.Signature(ResultLayout))
        One result per request. Timing: a request taken in cycle *t* gives a valid result in
        cycle ``t + cycles_per_result``, whatever the pair and the counts; it stays valid until
        taken, and the next request is taken after that.
    sim : In(SimLoadSignature)
        Only with ``simulation=True``: loads edge rates, noise seed and noise scale.

    Raises
    ------
    TypeError, ValueError
        A parameter has the wrong type or makes no sense; the message quotes it.
    """

    def __init__(
        self,
        *,
        n_ro: int,
        stages: int = 5,
        gate_cycles: int = 4096,
        max_edges_per_cycle: float = 32.0,
        soft_width: int = 16,
        settle_cycles: int = 4,
        simulation: bool = False,
        ring_placement=None,
        sequential: bool | None = None,
    ):
        self._ring_placement = ring_placement
        if sequential is None:
            sequential = ring_placement is not None and type(ring_placement).SEQUENTIAL
        self._sequential = bool(sequential)
        self._n_ro = check_int("RO count", n_ro, 2, 2**PAIR_INDEX_BITS - 1)
        self._stages = check_int("Stage count", stages, 3, 63)
        if stages % 2 == 0:
            raise ValueError(f"Stage count must be odd for the ring to oscillate, not {stages!r}")
        self._gate_cycles = check_int("Gate window", gate_cycles, 1, 2**24)
        if not isinstance(max_edges_per_cycle, int | float) or not max_edges_per_cycle > 0:
            raise ValueError(
                f"Edges per cycle must be a positive number, not {max_edges_per_cycle!r}"
            )
        self._soft_width = check_int("Soft value width", soft_width, 2, 32)
        self._settle_cycles = check_int("Settle cycles", settle_cycles, 1, 255)
        self._max_edges_per_cycle = float(max_edges_per_cycle)
        self._count_width = count_width_for(gate_cycles, max_edges_per_cycle)
        self._simulation = bool(simulation)

        members = {
            "enable": In(1),
            "i_pairs": In(stream.Signature(PairLayout)),
            "o_results": Out(stream.Signature(self.result_layout)),
        }
        if self._simulation:
            members["sim"] = In(SimLoadSignature(n_ro))
        super().__init__(members)

    n_ro = parameter("n_ro")
    stages = parameter("stages")
    max_edges_per_cycle = parameter("max_edges_per_cycle")
    count_width = parameter("count_width")
    soft_width = parameter("soft_width")

    @property
    def result_layout(self) -> data.StructLayout:
        return ResultLayout(self._count_width, self._soft_width)

    gate_cycles = parameter("gate_cycles")
    settle_cycles = parameter("settle_cycles")

    sequential = parameter("sequential")

    @property
    def cycles_per_result(self) -> int:
        """Cycles from taking a request to its valid result (constant): the request cycle, one
        window (clear, gate, settle) per measured ring group (two when sequential) and the
        result cycle."""
        windows = 2 if self._sequential else 1
        return windows * (self._gate_cycles + self._settle_cycles + 1) + 2

    def _bank(self, platform) -> wiring.Component:
        check_body_choice(self._simulation, platform, name="RO array", parts="rings")
        if self._simulation:
            return SimRingBank(n_ro=self._n_ro, count_width=self._count_width)
        return ring_bank_for(
            platform,
            n_ro=self._n_ro,
            stages=self._stages,
            count_width=self._count_width,
            sequential=self._sequential,
            placement=self._ring_placement,
        )

    def elaborate(self, platform):
        bank = self._bank(platform)
        m = Module()
        m.submodules.bank = bank
        if self._simulation:
            wiring.connect(m, wiring.flipped(self.sim), bank.sim)
        port = bank.bank
        assert isinstance(port.signature.flip(), RingBankSignature)

        # Only valid indices are kept (an invalid pair measures rings 0 and 1).
        a = Signal(range(self._n_ro))
        b = Signal(range(self._n_ro))
        invalid = Signal()
        second = Signal()  # sequential: the second window (ring b) is running
        timer = Signal(range(max(self._gate_cycles, self._settle_cycles) + 1))

        request = self.i_pairs.payload
        request_invalid = (
            (request.a >= self._n_ro) | (request.b >= self._n_ro) | (request.a == request.b)
        )
        result = self.o_results.payload
        # An invalid pair still runs the full sequence (on rings 0 and 1) so that timing never
        # depends on the pair list.
        if self._sequential:
            # Ring a in the first window into the result's count_a, ring b in the second.
            m.d.comb += port.sel_a.eq(Mux(second, b, a))
            count_a, overflow_a = result.count_a, result.overflow
            count_b, overflow_b = port.count_a, port.overflow_a
        else:
            m.d.comb += [
                port.sel_a.eq(a),
                port.sel_b.eq(b),
            ]
            count_a, overflow_a = port.count_a, port.overflow_a
            count_b, overflow_b = port.count_b, port.overflow_b

        diff = Signal(signed(self._count_width + 1))
        m.d.comb += diff.eq(count_a - count_b)
        soft = saturated(m, diff, self._soft_width, name="soft")

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.i_pairs.ready.eq(self.enable)
                with m.If(self.i_pairs.valid & self.enable):
                    m.d.sync += [
                        a.eq(request.a),
                        b.eq(request.b),
                        invalid.eq(request_invalid),
                    ]
                    with m.If(request_invalid):
                        m.d.sync += [a.eq(0), b.eq(1)]
                    m.next = "CLEAR"
            with m.State("CLEAR"):
                m.d.comb += port.clear.eq(1)
                m.d.sync += timer.eq(self._gate_cycles - 1)
                m.next = "GATE"
            with m.State("GATE"):
                m.d.comb += port.gate.eq(1)
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += timer.eq(self._settle_cycles - 1)
                    m.next = "SETTLE"
            with m.State("SETTLE"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    if self._sequential:
                        with m.If(~second):
                            m.d.sync += [
                                result.count_a.eq(port.count_a),
                                result.overflow.eq(port.overflow_a),
                                second.eq(1),
                            ]
                            m.next = "CLEAR"
                    with m.If(second if self._sequential else Const(1)):
                        m.d.sync += [
                            second.eq(0),
                            result.count_a.eq(count_a),
                            result.count_b.eq(count_b),
                            result.overflow.eq(~invalid & (overflow_a | overflow_b)),
                            result.invalid.eq(invalid),
                            result.bit.eq(~invalid & (diff > 0)),
                            result.soft.eq(0),
                            self.o_results.valid.eq(1),
                        ]
                        with m.If(~invalid):
                            m.d.sync += result.soft.eq(soft)
                        with m.If(invalid):
                            m.d.sync += [result.count_a.eq(0), result.count_b.eq(0)]
                        m.next = "RESULT"
            with m.State("RESULT"):
                with m.If(self.o_results.ready):
                    m.d.sync += self.o_results.valid.eq(0)
                    m.next = "IDLE"

        return m
