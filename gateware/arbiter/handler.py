"""The ARBITER command on the fabric: challenges in, majority bits or counts of ones out.

The handler serves :data:`~ropuf.spec.commands.Command.ARBITER` for the command processor
(:mod:`ropuf.gateware.core.handler`); the payload format and its rules are
:mod:`ropuf.spec.arbiter_command`. It holds an :class:`~ropuf.gateware.arbiter.puf.ArbiterPUF`
(the simulation body with its run-time load port, or the placed iCE40/ECP5 chains chosen by the
platform) and one byte memory::

    0 .. 255            the request payload, as received
    256 .. 256 + N - 1  COUNTS answers, one byte per challenge (builds with allow_counts)

A request runs in three phases:

1. **Receive** the whole payload into the memory, one byte per cycle, checking the header and
   the padding bits of each challenge as they pass and counting whole challenges.
2. **Check** (one cycle): a refused request (length, form, votes, padding, COUNTS without
   ``allow_counts``: BAD_PAYLOAD; COUNTS while locked: LOCKED) is answered at once, with
   nothing evaluated.
3. **Evaluate** each challenge ``votes`` times back to back (its bytes read from the memory,
   two cycles a byte), count the ones, keep the majority bit in a register or the count in the
   memory, then answer.

The number of cycles depends only on the request's length, form and votes, never on the
challenges or the answers.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In

from ropuf.gateware.checks import check_body_choice
from ropuf.gateware.core.handler import HandlerSignature
from ropuf.spec import arbiter_command
from ropuf.spec.arbiter_command import ArbiterConfig, Form
from ropuf.spec.commands import Command, Status
from ropuf.spec.framing import MAX_PAYLOAD

from .behavioural import ArbiterSimLoadSignature
from .puf import ArbiterPUF

__all__ = ["ArbiterHandler"]


class ArbiterHandler(wiring.Component):
    """ARBITER: evaluate challenges on a k-XOR arbiter PUF, answer majorities or counts.

    Parameters
    ----------
    n_stages : int
        Stages per chain, 1..256 (64 by default: 8-byte challenges, 31 per request).
    k : int
        Chains XORed, 1..8.
    settle_cycles : int
        As :class:`~ropuf.gateware.arbiter.puf.ArbiterPUF` (2..255).
    allow_counts : bool
        Answer the COUNTS form while unlocked (enrollment builds). Without it COUNTS is
        BAD_PAYLOAD and the handler has no COUNTS storage.
    simulation : bool
        Use the PUF's simulation body and expose its load port ``sim``; required when
        elaborating without a platform, refused with an FPGA platform.
    placement : ICE40ArbiterPlacement or ECP5ArbiterPlacement, optional
        Placement of the FPGA body (see :class:`~ropuf.gateware.arbiter.puf.ArbiterPUF`).

    Attributes
    ----------
    h : In(HandlerSignature())
        The command processor's port for ARBITER; one byte of payload taken per cycle.
        ``done`` rises only after the whole payload is taken: for a refusal in the third
        cycle after the last byte's, for an answer after the last evaluation. The answer bytes
        follow on ``response``, one every two cycles. :meth:`cycles` gives the total.
    sim : In(ArbiterSimLoadSignature)
        Only with ``simulation=True``: loads the die's weights, the noise seed and the noise
        scale (see :mod:`ropuf.gateware.arbiter.behavioural`). Load it while no request runs.
    config : ArbiterConfig
        What the build answers; pass it in the processor's ``features`` (it enters the build
        id) and give the same to the model, :class:`ropuf.sim.arbiter_device.ArbiterDevice`.

    Raises
    ------
    TypeError, ValueError
        A parameter has the wrong type or makes no sense; the message quotes it.
    """

    COMMANDS = (Command.ARBITER,)

    def __init__(
        self,
        *,
        n_stages: int = 64,
        k: int = 1,
        settle_cycles: int = 6,
        allow_counts: bool = False,
        simulation: bool = False,
        placement=None,
    ):
        self.config = ArbiterConfig(n_stages=n_stages, k=k, allow_counts=allow_counts)
        self.puf = ArbiterPUF(
            n_stages=n_stages,
            k=k,
            settle_cycles=settle_cycles,
            simulation=simulation,
            placement=placement,
        )
        self._simulation = simulation
        members = {"h": In(HandlerSignature())}
        if simulation:
            members["sim"] = In(ArbiterSimLoadSignature(n_stages=n_stages, k=k))
        super().__init__(members)

    def cycles(self, length: int, form: Form = Form.MAJORITY, votes: int = 1) -> int:
        """Cycles of a well-formed request of *length* bytes, from the cycle ``start`` is high
        to the one whose edge takes the last answer byte, with every payload byte offered and
        every answer byte taken at once. Constant: the challenges and answers do not matter.
        (A refused request of *length* bytes takes ``length + 3`` to ``done``.)"""
        width = self.config.challenge_bytes
        count = (length - arbiter_command.HEADER_BYTES) // width
        evaluation = self.puf.cycles_per_evaluation + 1
        per_challenge = 2 * width + votes * evaluation + 1
        answer = 2 * arbiter_command.response_length(form, count)
        return 1 + length + 1 + count * per_challenge + 1 + answer

    def elaborate(self, platform):
        # The PUF checks this too, but only once this module is built: check first.
        check_body_choice(self._simulation, platform, name="arbiter PUF", parts="chains")
        m = Module()
        config = self.config
        n = config.n_stages
        width = config.challenge_bytes
        most = config.max_challenges
        header = arbiter_command.HEADER_BYTES
        h = self.h

        m.submodules.puf = puf = self.puf
        if "sim" in self.signature.members:
            wiring.connect(m, wiring.flipped(self.sim), puf.sim)
        m.d.comb += puf.enable.eq(1)

        depth = MAX_PAYLOAD + (most if config.allow_counts else 0)
        m.submodules.mem = mem = memory.Memory(shape=8, depth=depth, init=[])
        wr = mem.write_port()
        rd = mem.read_port(transparent_for=())

        status = Signal(8)
        out_length = Signal(16)
        done = Signal()
        m.d.comb += [h.status.eq(status), h.out_length.eq(out_length), h.done.eq(done)]

        index = Signal(16)  # payload bytes taken, then answer bytes sent
        form = Signal(8)
        votes = Signal(8)
        in_challenge = Signal(range(width))  # byte position inside the current challenge
        received = Signal(range(MAX_PAYLOAD + 1))  # whole challenges received
        bad = Signal()  # a padding bit was set
        count = Signal(range(most + 1))  # challenges to evaluate
        current = Signal(range(most))  # the challenge being evaluated
        pointer = Signal(range(MAX_PAYLOAD))  # memory address of its next byte
        byte = Signal(range(width))
        challenge = Signal(8 * width)
        vote = Signal(8)
        ones = Signal(8)
        answers = Signal((most + 7) // 8 * 8)  # MAJORITY answers, challenge i in bit i
        counts = form == Form.COUNTS

        m.d.comb += rd.addr.eq(pointer)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(h.start):
                    m.d.sync += [
                        done.eq(0),
                        out_length.eq(0),
                        index.eq(0),
                        form.eq(0),
                        votes.eq(0),
                        in_challenge.eq(0),
                        received.eq(0),
                        bad.eq(0),
                        answers.eq(0),
                    ]
                    m.next = "RECEIVE"

            with m.State("RECEIVE"):
                with m.If(index == h.length):
                    m.next = "CHECK"
                with m.Else():
                    data = h.payload.payload
                    m.d.comb += [
                        h.payload.ready.eq(1),
                        wr.addr.eq(index),
                        wr.data.eq(data),
                        wr.en.eq(h.payload.valid & (index < MAX_PAYLOAD)),
                    ]
                    with m.If(h.payload.valid):
                        m.d.sync += index.eq(index + 1)
                        with m.If(index == 0):
                            m.d.sync += form.eq(data)
                        with m.Elif(index == 1):
                            m.d.sync += votes.eq(data)
                        with m.Elif(in_challenge == width - 1):
                            m.d.sync += [in_challenge.eq(0), received.eq(received + 1)]
                            if n % 8:
                                with m.If(data[n % 8 :] != 0):
                                    m.d.sync += bad.eq(1)
                        with m.Else():
                            m.d.sync += in_challenge.eq(in_challenge + 1)

            with m.State("CHECK"):
                length_ok = (
                    (h.length >= header + width)
                    & (h.length <= header + most * width)
                    & (in_challenge == 0)
                )
                form_ok = form == Form.MAJORITY
                if config.allow_counts:
                    form_ok |= counts
                votes_ok = (votes != 0) & (counts | votes[0])
                m.d.sync += done.eq(1)
                m.next = "IDLE"
                with m.If(h.code != Command.ARBITER):
                    m.d.sync += status.eq(Status.UNKNOWN_COMMAND)
                with m.Elif(~length_ok | ~form_ok | ~votes_ok | bad):
                    m.d.sync += status.eq(Status.BAD_PAYLOAD)
                with m.Elif(counts & h.locked):
                    m.d.sync += status.eq(Status.LOCKED)
                with m.Else():
                    m.d.sync += [
                        done.eq(0),
                        count.eq(received),
                        current.eq(0),
                        pointer.eq(header),
                        byte.eq(0),
                    ]
                    m.next = "LOAD_READ"

            # Evaluate: the challenge's bytes from the memory (address, then data), little-endian.
            with m.State("LOAD_READ"):
                m.next = "LOAD_SHIFT"
            with m.State("LOAD_SHIFT"):
                m.d.sync += [
                    challenge.eq(Cat(challenge[8:], rd.data)),
                    pointer.eq(pointer + 1),
                    byte.eq(byte + 1),
                ]
                with m.If(byte == width - 1):
                    m.d.sync += [byte.eq(0), vote.eq(0), ones.eq(0)]
                    m.next = "EVALUATE"
                with m.Else():
                    m.next = "LOAD_READ"
            with m.State("EVALUATE"):
                m.d.comb += [puf.i_challenge.valid.eq(1), puf.i_challenge.payload.eq(challenge[:n])]
                with m.If(puf.i_challenge.ready):
                    m.next = "RESPONSE"
            with m.State("RESPONSE"):
                m.d.comb += puf.o_response.ready.eq(1)
                with m.If(puf.o_response.valid):
                    m.d.sync += [ones.eq(ones + puf.o_response.payload.bit), vote.eq(vote + 1)]
                    with m.If(vote == votes - 1):
                        m.next = "STORE"
                    with m.Else():
                        m.next = "EVALUATE"
            with m.State("STORE"):
                if config.allow_counts:
                    m.d.comb += [
                        wr.addr.eq(MAX_PAYLOAD + current),
                        wr.data.eq(ones),
                        wr.en.eq(counts),
                    ]
                majority = Cat(Const(0, 1), ones) > votes  # 2 * ones > votes
                m.d.sync += answers.bit_select(current, 1).eq(majority)
                m.d.sync += current.eq(current + 1)
                with m.If(current == count - 1):
                    out = Mux(counts, count, (count + 7) >> 3)
                    m.d.sync += [
                        status.eq(Status.OK),
                        out_length.eq(out),
                        done.eq(1),
                        index.eq(0),
                    ]
                    m.next = "ANSWER_READ"
                with m.Else():
                    m.next = "LOAD_READ"

            # Answer: one byte every two cycles (address, then offer until taken).
            with m.State("ANSWER_READ"):
                if config.allow_counts:
                    m.d.comb += rd.addr.eq(MAX_PAYLOAD + index)
                m.next = "ANSWER"
            with m.State("ANSWER"):
                if config.allow_counts:
                    m.d.comb += rd.addr.eq(MAX_PAYLOAD + index)
                bits = answers.word_select(index[: max(1, (len(answers) // 8 - 1).bit_length())], 8)
                m.d.comb += [
                    h.response.valid.eq(1),
                    h.response.payload.eq(
                        Mux(counts, rd.data, bits) if config.allow_counts else bits
                    ),
                ]
                with m.If(h.response.ready):
                    m.d.sync += index.eq(index + 1)
                    with m.If(index == out_length - 1):
                        m.next = "IDLE"
                    with m.Else():
                        m.next = "ANSWER_READ"
        return m
