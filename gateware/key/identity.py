"""The key engine's identity: IDENTITY, SIGN and the identity key at RECONSTRUCT.

:class:`IdentitySequencer` owns the P-256 engine (:class:`~ropuf.gateware.crypto.p256_alu.P256ALU`
with :mod:`~ropuf.gateware.crypto.p256_program`) and runs a fixed list of steps (a ROM) that
moves values between the key engine's byte memory and the P-256 engine's registers and starts
the P-256 routines and the SHA-256 program's identity entries (:mod:`.sha_program`, run by the
engine's :class:`~.program_runner.ProgramRunner`). It follows :mod:`ropuf.spec.identity`::

    derive (RECONSTRUCT, after the derivation, which expands c twice: RV || RK[:8] and
            RV2 || RK2[:8]):  key_bad = 1;
        U1, K = c (first copy);  P-256 DERIVE;  IDKEY = d (QX);
        U1, K = c (second copy);  P-256 DERIVE;  D = IDKEY;  P-256 check_derive (the two d
        equal; D2 = d);  latch;
        SHA identity_finish (clears both copies of c; clears IDKEY if the key check failed);
        K = IDKEY;  P-256 SCALAR_MULT, PUBLIC (K equal to D2; keeps Q and G + Q);  latch;
        K = IDKEY;  P-256 SCALAR_MULT, check_public (K equal to D2, the same Q);
        key_bad = latched | fault;  P-256 CLEAR
    identity:
        P-256 IDENTITY (Q, checked on the curve);  answer
    sign_attest:  SHA sign_attest (H1 = SHA(label || HREC || NONCE)), then sign
    sign:
        H = H1;  P-256 REDUCE;  H1 = h mod n;  D = IDKEY;  SHA drbg (RV = RFC 6979's k);
        K = RV;  SHA wipe (clears RV);  P-256 SCALAR_MULT, NONCE_CHECK, SIGNATURE;
        SHA drbg2 (RV2: k again, other cells);  K2 = RV2;  SHA wipe2;  D2 = IDKEY;  H2 = H1;
        P-256 VERIFY (K, D, H equal to K2, D2, H2; r, s verified against Q);  answer
    answer:
        ANSWER = QX || QY (the engine's answer buffer; 0 if the P-256 engine's flag or
        key_bad is set);  P-256 CLEAR;
        RELEASE: fault = latched | the P-256 engine's flag | key_bad

The signature leaves only if it verifies against the public key RECONSTRUCT computed (twice,
compared) and IDENTITY reports, and the nonce, key and digest it was made from equal the ones
computed and loaded a second time: with RFC 6979's repeatable nonce, a signature made with one
wrong value (a flipped ladder step, a changed k, d or z) would give d away beside a good one
(docs/identity.md, "Fault checks"). The sequencer fails closed: ``fault`` is set when a sequence
starts and only RELEASE, the last step of an answer, can clear it, so a sequence cut short (a
glitch to STOP) answers FAULT, and so does every IDENTITY and SIGN after a RECONSTRUCT whose
checks did not all run (``key_bad`` is set when RECONSTRUCT's sequence starts). The answer
goes to the key engine's own 64-byte buffer (:data:`.record.ANSWER`), which only the answer's
stores write and from which alone IDENTITY's and SIGN's answer is read: no secret is ever in
it, so a jump to RELEASE answers an old answer or zeros, and no glitched answer address reaches
a secret.

A value moves a byte every two cycles (big-endian in memory, 32-bit words least significant
first in the register file); nothing branches: LATCH, RELEASE and KEYSET only record the P-256
engine's flag (:attr:`IdentitySequencer.fault`, which the engine reports as FAULT with no
payload; the results then read as 0 anyway). Every sequence therefore takes the same cycles
whatever d, k or the digest: the P-256 routines and the SHA-256 program are constant, and so
are the moves.

The secret values are d (IDKEY; QX, D, D2 in the P-256 engine), c (RV, RK, RV2, RK2 during
RECONSTRUCT; U1, K) and the DRBG's state and k (RK, RV, RK2, RV2; K, K2): each is cleared by the
sequence that made it. Only x, y, r and s are left for the answer.
"""

from enum import IntEnum

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, memory, wiring
from amaranth.lib.wiring import In, Out

from ropuf.gateware.crypto.p256_alu import P256ALU, WORD_BITS, WORDS
from ropuf.gateware.crypto.p256_program import (
    ENTRIES,
    INIT,
    PROGRAM,
    READABLE_IDENTITY,
    REGISTER,
)

from .record import ANSWER, MemoryMap
from .sha_program import Program

__all__ = ["SEQUENCES", "IdentitySequencer", "Step", "StepLayout", "compile_steps"]

#: The sequences, in the order of the sequencer's ``entry`` numbers.
SEQUENCES = ("derive", "identity", "sign_attest", "sign")


class Step(IntEnum):
    """Sequencer steps."""

    LOAD = 0  # register `reg` = the `count` bytes at `addr`, big-endian (count 8 or 32)
    STORE = 1  # the 32 bytes at `addr` = register `reg`, big-endian
    ALU = 2  # run the P-256 routine at `arg` to its STOP
    SHA = 3  # run the SHA-256 program's entry number `arg` to its STOP
    LATCH = 4  # latched |= the P-256 engine's flag
    RELEASE = 5  # fault = latched | the P-256 engine's flag | key_bad (the answer may leave)
    KEYSET = 6  # key_bad = latched | the P-256 engine's flag (RECONSTRUCT's checks)
    STOP = 7


StepLayout = data.StructLayout({"step": 3, "reg": 6, "addr": 11, "arg": 10})


def compile_steps(layout: MemoryMap, program: Program) -> tuple[list[dict], dict[str, int]]:
    """The steps of every sequence (see the module notes) and where each starts."""
    if not layout.identity:
        raise ValueError("The identity's steps need a memory map with the identity's slots")
    s = layout.slot
    steps: list[dict] = []
    starts: dict[str, int] = {}

    def load(reg, addr, count=32):
        steps.append({"step": Step.LOAD, "reg": REGISTER[reg], "addr": addr, "arg": count})

    def store(reg, slot):
        steps.append({"step": Step.STORE, "reg": REGISTER[reg], "addr": s(slot)})

    def alu(routine):
        steps.append({"step": Step.ALU, "arg": ENTRIES[routine]})

    def sha(entry):
        steps.append({"step": Step.SHA, "arg": program.entry_number(entry)})

    def step(kind):
        steps.append({"step": kind})

    def answer():  # x, y or r, s to the engine's answer buffer (not the memory)
        for reg, offset in (("QX", 0), ("QY", 32)):
            steps.append({"step": Step.STORE, "reg": REGISTER[reg], "addr": ANSWER + offset})
        alu("clear")
        step(Step.RELEASE)
        step(Step.STOP)

    starts["derive"] = len(steps)
    for copy in ("RV", "RV2"):  # d from each of the two expansions of c, compared
        load("U1", s(copy), 8)
        load("K", s(copy) + 8)
        alu("derive")
        if copy == "RV":
            store("QX", "IDKEY")
    load("D", s("IDKEY"))
    alu("check_derive")
    step(Step.LATCH)
    sha("identity_finish")
    for routine in ("public", "check_public"):  # Q twice, compared
        load("K", s("IDKEY"))
        alu("scalar_mult")
        alu(routine)
        step(Step.LATCH if routine == "public" else Step.KEYSET)
    alu("clear")
    step(Step.STOP)

    starts["identity"] = len(steps)
    alu("identity")
    answer()

    starts["sign_attest"] = len(steps)
    sha("sign_attest")  # and on into sign
    starts["sign"] = len(steps)
    load("H", s("H1"))
    alu("reduce")
    store("H", "H1")
    load("D", s("IDKEY"))
    sha("drbg")
    load("K", s("RV"))
    sha("wipe")
    alu("scalar_mult")
    alu("nonce_check")
    alu("signature")
    sha("drbg2")  # everything SIGNATURE read, computed or loaded again for VERIFY
    load("K2", s("RV2"))
    sha("wipe2")
    load("D2", s("IDKEY"))
    load("H2", s("H1"))
    alu("verify")
    answer()
    assert tuple(starts) == SEQUENCES
    return steps, starts


class IdentitySequencer(wiring.Component):
    """Runs the identity's sequences (see the module notes) on the key engine's memory.

    Parameters
    ----------
    layout : MemoryMap
        The engine's memory map, with the identity's slots.
    program : Program
        The engine's SHA-256 program, with the identity's entries.

    Attributes
    ----------
    start : In(1)
        A pulse while idle starts the sequence :data:`SEQUENCES` ``[entry]``.
    entry : In(range(len(SEQUENCES)))
    done : Out(1)
        High for one cycle at the sequence's end; ``fault`` is then valid.
    fault : Out(1)
        No answer may be sent: set when a sequence starts, cleared only by the RELEASE step
        when no check failed (in this sequence, or at RECONSTRUCT: ``key_bad``).
    key_bad : Out(1)
        RECONSTRUCT's identity checks failed (d or Q computed twice differ, Q off the curve, or
        the key check failed and d is 0): every IDENTITY and SIGN answers FAULT until the next
        RECONSTRUCT.
    read_addr, read_data, write_addr, write_data, write_en
        The engine memory's ports, while ``sha_busy`` is low (else the runner's).
    sha_start : Out(1)
    sha_entry : Out(range(len(program.entries)))
    sha_done : In(1)
        The program runner's ``start``, ``entry`` and ``done``.
    sha_busy : Out(1)
        The program runner has the memory.
    """

    def __init__(self, layout: MemoryMap, program: Program):
        self.steps, self.starts = compile_steps(layout, program)
        self.program = program
        super().__init__(
            {
                "start": In(1),
                "entry": In(range(len(SEQUENCES))),
                "done": Out(1),
                "fault": Out(1),
                "key_bad": Out(1, init=1),  # no checked key before the first RECONSTRUCT
                "read_addr": Out(11),
                "read_data": In(8),
                "write_addr": Out(11),
                "write_data": Out(8),
                "write_en": Out(1),
                "sha_start": Out(1),
                "sha_entry": Out(range(len(program.entries))),
                "sha_done": In(1),
                "sha_busy": Out(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        m.submodules.alu = alu = P256ALU(PROGRAM, INIT, readable=READABLE_IDENTITY)
        steps = self.steps
        m.submodules.steps = step_rom = memory.Memory(
            shape=StepLayout, depth=len(steps), init=[StepLayout.const(st) for st in steps]
        )
        step_read = step_rom.read_port(transparent_for=())
        pc = Signal(range(len(steps)))
        step = Signal(StepLayout)
        m.d.comb += [step_read.addr.eq(pc), step.eq(step_read.data)]
        starts = [Const(self.starts[name], len(pc)) for name in SEQUENCES]

        fetched = Signal()
        phase = Signal()
        latched = Signal()  # a check failed earlier in this sequence
        answering = Signal()  # IDENTITY or SIGN: STORE writes 0 while key_bad is set
        index = Signal(range(WORDS * 4 + 1))  # byte of a LOAD or STORE
        word = Signal(WORD_BITS)  # a LOAD's word being assembled
        next_step = [pc.eq(pc + 1), fetched.eq(0), phase.eq(0), index.eq(0)]
        m.d.comb += [self.sha_entry.eq(step.arg), alu.entry.eq(step.arg)]

        with m.FSM():
            with m.State("IDLE"):
                with m.If(self.start):
                    m.d.sync += answering.eq(self.entry != SEQUENCES.index("derive"))
                    with m.If(self.entry == SEQUENCES.index("derive")):
                        m.d.sync += self.key_bad.eq(1)  # until this RECONSTRUCT's KEYSET
                    # Fail closed: only RELEASE clears fault.
                    m.d.sync += [
                        fetched.eq(0), phase.eq(0), index.eq(0), self.fault.eq(1), latched.eq(0)
                    ]  # fmt: skip
                    with m.Switch(self.entry):
                        for number, address in enumerate(starts):
                            with m.Case(number):
                                m.d.sync += pc.eq(address)
                    m.next = "RUN"
            with m.State("RUN"):
                with m.If(~fetched):
                    m.d.sync += fetched.eq(1)
                with m.Else(), m.Switch(step.step):
                    with m.Case(Step.LOAD):
                        # Byte `index` of the number, least significant first: memory byte
                        # addr + count - 1 - index (0 beyond count).
                        inside = index < step.arg
                        m.d.comb += self.read_addr.eq(step.addr + step.arg - 1 - index)
                        with m.If(phase == 0):
                            m.d.sync += phase.eq(1)
                        with m.Else():
                            assembled = Cat(word[8:], Mux(inside, self.read_data, 0))
                            m.d.sync += [word.eq(assembled), phase.eq(0), index.eq(index + 1)]
                            with m.If(index[:2] == 3):
                                m.d.comb += [
                                    alu.addr.eq(Cat(index[2:5], step.reg)),
                                    alu.wdata.eq(assembled),
                                    alu.we.eq(1),
                                ]
                            with m.If(index == WORDS * 4 - 1):
                                m.d.sync += next_step
                    with m.Case(Step.STORE):
                        # Memory byte addr + index (big-endian) from word 7 - index / 4.
                        m.d.comb += alu.addr.eq(Cat(~index[2:5], step.reg))
                        with m.If(phase == 0):
                            m.d.sync += phase.eq(1)
                        with m.Else():
                            m.d.comb += [
                                self.write_addr.eq(step.addr + index),
                                self.write_data.eq(
                                    Mux(
                                        answering & self.key_bad,
                                        0,
                                        alu.rdata.word_select(~index[:2], 8),
                                    )
                                ),
                                self.write_en.eq(1),
                            ]
                            m.d.sync += [phase.eq(0), index.eq(index + 1)]
                            with m.If(index == WORDS * 4 - 1):
                                m.d.sync += next_step
                    with m.Case(Step.ALU):
                        with m.If(phase == 0):
                            m.d.comb += alu.start.eq(1)
                            m.d.sync += phase.eq(1)
                        with m.Elif(~alu.busy):
                            m.d.sync += next_step
                    with m.Case(Step.SHA):
                        m.d.comb += self.sha_busy.eq(1)
                        with m.If(phase == 0):
                            m.d.comb += self.sha_start.eq(1)
                            m.d.sync += phase.eq(1)
                        with m.Elif(self.sha_done):
                            m.d.sync += next_step
                    with m.Case(Step.LATCH):
                        m.d.sync += [latched.eq(latched | alu.fault), *next_step]
                    with m.Case(Step.RELEASE):
                        m.d.sync += [
                            self.fault.eq(latched | alu.fault | self.key_bad),
                            *next_step,
                        ]
                    with m.Case(Step.KEYSET):
                        m.d.sync += [self.key_bad.eq(latched | alu.fault), *next_step]
                    with m.Default():  # STOP: fault stays as RELEASE left it (set if none ran)
                        m.d.comb += self.done.eq(1)
                        m.next = "IDLE"
        return m
