"""Arbiter and k-XOR arbiter PUF: a challenge in, one response bit out, in constant time.

An arbiter chain is two paths through ``n`` switch stages: a stage passes the two edges straight
when its challenge bit is 0 and crosses them when it is 1; a flip-flop at the end (the arbiter)
records which edge came first. ``k`` chains race on the same challenge and the response is the
XOR of their arbiters. The body that holds the chains is chosen by the platform: the additive
delay model in integers with run-time weights in simulation (:mod:`.behavioural`), placed
LUTs on iCE40 (:mod:`.ice40`) and ECP5 (:mod:`.ecp5`). The sequence (challenge,
settle, launch, race, capture) is shared and lives here.

A single arbiter chain, and an XOR of few chains, is learnable from CRPs by logistic regression
(``docs/arbiter-puf.md``): do not use one as a strong-PUF authenticator.
"""

from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.vendor import LatticeECP5Platform, LatticeICE40Platform

from ropuf.gateware.checks import check_body_choice, check_int, parameter
from ropuf.spec import arbiter_behavioural

from .behavioural import ArbiterSimLoadSignature, SimArbiterBody
from .body import ArbiterBodySignature
from .ecp5 import ECP5ArbiterBody, ECP5ArbiterPlacement
from .ice40 import ICE40ArbiterBody, ICE40ArbiterPlacement

__all__ = ["ArbiterBodySignature", "ArbiterPUF", "ResponseLayout"]


def ResponseLayout(k: int, expose_chains: bool) -> data.StructLayout:  # noqa: N802
    """Layout of one response.

    Fields
    ------
    bit : 1
        The response: XOR of the chains' arbiter bits.
    chains : k
        Only with ``expose_chains``: each chain's arbiter bit, chain 0 in bit 0.
    """
    fields = {"bit": 1}
    if expose_chains:
        fields["chains"] = k
    return data.StructLayout(fields)


class ArbiterPUF(wiring.Component):
    """k-XOR arbiter PUF: one response bit per challenge, constant time.

    Parameters
    ----------
    n_stages : int
        Switch stages per chain, 1..256 (64 by default).
    k : int
        Chains XORed, 1..8.
    settle_cycles : int
        Cycles for the paths to come to rest at 0 with a new challenge, and again for the race
        before the capture; 2..255. The race takes the launch flip-flop's cycle, the path delay
        and, on iCE40, half a cycle to the samplers: about 190 ns for 64 stages on the iCE40UP5K
        by nextpnr's delay model (3 ns a stage), 2.3 cycles at 12 MHz, so the default 6 leaves
        margin for slow corners; scale it with ``n_stages`` and the clock.
    expose_chains : bool
        Also stream each chain's bit. For characterisation only: with the chain bits an
        attacker learns each chain as a single arbiter PUF, which the XOR was meant to prevent.
    simulation : bool
        Build the behavioural simulation body and expose its ``sim`` load port; required when
        elaborating without a platform, refused with an FPGA platform.
    placement : ICE40ArbiterPlacement or ECP5ArbiterPlacement, optional
        Placement of the FPGA body; the family's default when omitted (the default is checked
        against ``n_stages`` and ``k`` when the body is built: iCE40 fits 6 chains of up to 100
        stages there, ECP5 8 chains of up to 256).

    Attributes
    ----------
    enable : In(1)
        Challenges are taken only while high.
    i_challenge : In(stream.Signature(n_stages))
        Challenges, bit ``j`` for stage ``j``; one response each, in order.
    o_response : Out(stream.Signature(ResponseLayout(k, expose_chains)))
        One response per challenge. Timing: a challenge taken in cycle *t* gives a valid
        response in cycle ``t + cycles_per_evaluation``, whatever the challenge; it stays valid
        until taken, and the next challenge is taken in the cycle after that.
    sim : In(ArbiterSimLoadSignature)
        Only with ``simulation=True``: loads the weights, the noise seed and the noise scale
        (see :mod:`ropuf.gateware.arbiter.behavioural`).

    Raises
    ------
    TypeError, ValueError
        A parameter has the wrong type or a value out of range; the message quotes it.
    """

    def __init__(
        self,
        *,
        n_stages: int = 64,
        k: int = 1,
        settle_cycles: int = 6,
        expose_chains: bool = False,
        simulation: bool = False,
        placement: ICE40ArbiterPlacement | ECP5ArbiterPlacement | None = None,
    ):
        self._n_stages = check_int("Stage count", n_stages, 1, arbiter_behavioural.MAX_STAGES)
        self._k = check_int("Chain count", k, 1, arbiter_behavioural.MAX_CHAINS)
        self._settle_cycles = check_int("Settle cycles", settle_cycles, 2, 255)
        for name, flag in (("expose_chains", expose_chains), ("simulation", simulation)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool, not {flag!r}")
        if simulation and placement is not None:
            raise ValueError(f"The simulation body takes no placement, not {placement!r}")
        if placement is not None:
            if isinstance(placement, ICE40ArbiterPlacement):
                placement.columns(k)
                placement.rows(n_stages)
            elif isinstance(placement, ECP5ArbiterPlacement):
                placement.columns(n_stages)
            else:
                raise TypeError(
                    "Placement must be an ICE40ArbiterPlacement or an ECP5ArbiterPlacement, "
                    f"not {placement!r}"
                )
        self._expose_chains = expose_chains
        self._simulation = simulation
        self._placement = placement

        members = {
            "enable": In(1),
            "i_challenge": In(stream.Signature(n_stages)),
            "o_response": Out(stream.Signature(self.response_layout)),
        }
        if simulation:
            members["sim"] = In(ArbiterSimLoadSignature(n_stages=n_stages, k=k))
        super().__init__(members)

    n_stages = parameter("n_stages")
    k = parameter("k")
    settle_cycles = parameter("settle_cycles")
    expose_chains = parameter("expose_chains")

    @property
    def response_layout(self) -> data.StructLayout:
        return ResponseLayout(self._k, self._expose_chains)

    @property
    def cycles_per_evaluation(self) -> int:
        """Cycles from taking a challenge to its valid response (constant)."""
        return 2 * self._settle_cycles + 1

    def _body(self, platform) -> wiring.Component:
        check_body_choice(self._simulation, platform, name="arbiter PUF", parts="chains")
        if self._simulation:
            return SimArbiterBody(n_stages=self._n_stages, k=self._k)
        match platform:
            case LatticeICE40Platform():
                body, placement = ICE40ArbiterBody, ICE40ArbiterPlacement
            case LatticeECP5Platform():
                body, placement = ECP5ArbiterBody, ECP5ArbiterPlacement
            case _:
                raise ValueError(
                    f"No arbiter PUF body for {type(platform).__name__}: "
                    "ropuf has arbiter chains for iCE40 and ECP5"
                )
        if self._placement is not None and not isinstance(self._placement, placement):
            raise TypeError(
                f"Placement must be an {placement.__name__} for {type(platform).__name__}, "
                f"not {self._placement!r}"
            )
        return body(n_stages=self._n_stages, k=self._k, placement=self._placement)

    def elaborate(self, platform):
        body = self._body(platform)
        m = Module()
        m.submodules.body = body
        if self._simulation:
            wiring.connect(m, wiring.flipped(self.sim), body.sim)
        port = body.puf
        assert isinstance(port.signature.flip(), ArbiterBodySignature)

        challenge = Signal(self._n_stages)
        launch = Signal()
        timer = Signal(range(self._settle_cycles))
        m.d.comb += [port.challenge.eq(challenge), port.launch.eq(launch)]

        chains = port.chains
        parity = chains[0]
        for index in range(1, self._k):
            parity = parity ^ chains[index]

        result = self.o_response.payload
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.i_challenge.ready.eq(self.enable)
                with m.If(self.i_challenge.valid & self.enable):
                    m.d.sync += [
                        challenge.eq(self.i_challenge.payload),
                        timer.eq(self._settle_cycles - 1),
                    ]
                    m.next = "SETTLE"
            with m.State("SETTLE"):
                # Both paths rest at 0 and take up the new switch settings.
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [launch.eq(1), timer.eq(self._settle_cycles - 1)]
                    m.next = "RACE"
            with m.State("RACE"):
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [
                        launch.eq(0),
                        result.bit.eq(parity),
                        self.o_response.valid.eq(1),
                    ]
                    if self._expose_chains:
                        m.d.sync += result.chains.eq(chains)
                    m.next = "RESULT"
            with m.State("RESULT"):
                with m.If(self.o_response.ready):
                    m.d.sync += self.o_response.valid.eq(0)
                    m.next = "IDLE"

        return m
