"""A microcoded modular ALU for P-256: three multipliers, operands in block RAM.

The engine runs a program of field operations (:mod:`ropuf.gateware.crypto.p256_program`
writes them) on a register file of :data:`REGISTERS` 256-bit registers, each eight 32-bit words
(least significant first) in one memory with two synchronous read ports and one write port.
Every arithmetic instruction works modulo p or modulo n (the ``mod`` bit), in Montgomery form
(R = 2^256) for multiplication:

* ``MUL dst, a, b``: ``dst = a * b * 2^-256 mod m``, word-serial CIOS Montgomery multiplication
  (Koc, Acar, Kaliski 1996) with the multiply and reduce passes merged: for each word ``b[i]``,
  eight cycles, each multiplying one column ``j`` on two 32 x 32-bit multipliers (``a[j] *
  b[i]`` and ``q * m[j]``); the products are registered and added to the column a cycle later
  (``t[j] + a[j] b[i] + q m[j] + carry``, a 33-bit carry). Column 0's sum is zero by
  construction, so its cycle also adds the previous word's carry to ``t[8]``. A third
  multiplier (the low 32 bits only) computes the next word's ``q = (t[0] + a[0] b[i+1]) m' mod
  2^32`` meanwhile, from ``t[0]`` as soon as column 1 gave it (``m' = 1`` for p, a full word
  for n). Two cycles compute the first ``q``, two end the last word (its last column, ``t[8]``);
  ``t`` (8 words and 2 bits) is a shift register of flip-flops, compared with ``m`` by a
  borrow chain as its words arrive. Then ``dst = t - m``, or ``t`` if that borrowed, is written
  (8 cycles, after the last read of ``a`` and ``b``: ``dst`` may be either). The inputs need
  ``a * b < m * 2^256`` (any two reduced values; a 256-bit number and a reduced one), the
  result is reduced.
* ``ADD dst, a, b``: ``dst = a + b - m`` (8 cycles, a signed carry), then the fix pass.
* ``SUB dst, a, b``: ``dst = a - b``, then the fix pass.
* ``ADDK dst, a, b``: ADD modulo ``n - 1`` (whatever ``mod`` says; even, so no MUL): the
  reduction of a private key's extra bits (FIPS 186-5 A.2.1), a bit at a time.
* fix pass (an address cycle and 8): ``dst += m`` if the result was negative, else
  ``dst += 0``: the same cycles either way.
* ``SEL dst, a, b``: ``dst = b`` if the bit register is 1, else ``a`` (8 cycles, every word
  read and written either way; ``SEL dst, a, a`` copies).
* ``BIT a``: the bit register takes bit ``count`` of register ``a`` (one cycle).
* ``SETC``: ``count = 255``. ``LOOP target``: if ``count`` is not 0, decrement it and jump
  (one counter: loops do not nest). The count is the only thing the program branches on, and
  it is never data: every program takes the same cycles whatever the registers hold
  (:func:`cycles` counts them).
* ``CHK a`` (8 cycles): sets the ``fault`` flag if ``a`` is not 0 (``mod`` = 0) or if it is 0
  (``mod`` = 1); ``CLRF`` clears it. The program checks its own results with them (a point on
  the curve, a signature's equation); every word is read either way.
* ``STOP``: back to idle.

Each instruction is fetched, decoded and started in three cycles (MUL takes 79 in all, ADD,
ADDK and SUB 20, SEL and CHK 11). A program is a list of :class:`Instruction`; the engine holds
it in a ROM (23-bit words), the register file's initial contents (the constants) in the
memory's init; an opcode the engine does not know stops it.
"""

from dataclasses import dataclass

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ropuf.spec.p256 import N, P

__all__ = [
    "ADD",
    "ADDK",
    "BIT",
    "CHK",
    "CLRF",
    "KEY_MODULUS",
    "LOOP",
    "MODULI",
    "MUL",
    "OPCODES",
    "P256ALU",
    "REGISTERS",
    "SEL",
    "SETC",
    "STOP",
    "SUB",
    "WORDS",
    "WORD_BITS",
    "Instruction",
    "cycles",
    "montgomery_inverse_word",
    "op_cycles",
    "run_model",
]

#: Bits of a word, words of a register.
WORD_BITS = 32
WORDS = 8
#: Registers in the register file (6-bit register numbers): 512 words, one block RAM each port.
REGISTERS = 64

STOP, MUL, ADD, SUB, SEL, BIT, LOOP, SETC, CHK, CLRF, ADDK = range(11)
OPCODES = {
    "stop": STOP, "mul": MUL, "add": ADD, "sub": SUB, "sel": SEL,
    "bit": BIT, "loop": LOOP, "setc": SETC, "chk": CHK, "clrf": CLRF, "addk": ADDK,
}  # fmt: skip

_MASK = 2**WORD_BITS - 1
_REG_BITS = 6
_PC_BITS = 10
_INSTRUCTION_BITS = 4 + 1 + 3 * _REG_BITS
#: The loop counter's start (SETC): one pass per bit of a 256-bit number.
_COUNT_START = WORDS * WORD_BITS - 1


def montgomery_inverse_word(modulus: int) -> int:
    """``-modulus^-1 mod 2^32``: CIOS's per-word reduction factor."""
    return -pow(modulus, -1, 2**WORD_BITS) % 2**WORD_BITS


#: The two moduli, selected by an instruction's ``mod`` bit: 0 is p, 1 is n.
MODULI = (P, N)
#: ADDK's modulus.
KEY_MODULUS = N - 1


@dataclass(frozen=True)
class Instruction:
    """One engine instruction: ``op`` (an opcode), ``mod`` (0: modulo p, 1: modulo n), register
    numbers ``dst``, ``a``, ``b``, and ``target`` (LOOP's jump address)."""

    op: int
    dst: int = 0
    a: int = 0
    b: int = 0
    mod: int = 0
    target: int = 0

    def __post_init__(self):
        if self.op not in OPCODES.values():
            raise ValueError(f"unknown opcode {self.op!r}")
        for name in ("dst", "a", "b"):
            value = getattr(self, name)
            if not 0 <= value < REGISTERS:
                raise ValueError(f"register {name}={value!r} is not in 0..{REGISTERS - 1}")
        if self.mod not in (0, 1):
            raise ValueError(f"mod must be 0 (p) or 1 (n), not {self.mod!r}")
        if not 0 <= self.target < 2**_PC_BITS:
            raise ValueError(f"target {self.target!r} is not in 0..{2**_PC_BITS - 1}")

    def encode(self) -> int:
        """The instruction word: op, mod, dst, a, b (LOOP: target in place of a and b)."""
        word = self.op | self.mod << 4 | self.dst << 5
        if self.op == LOOP:
            return word | self.target << (5 + _REG_BITS)
        return word | self.a << (5 + _REG_BITS) | self.b << (5 + 2 * _REG_BITS)


#: Cycles of each instruction: fetch, decode and execute (the first cycle of each), then its
#: passes (LOOP: taken or not, the same). MUL: the first q (2), eight per word b[i], the tail
#: (the last column, t[8] and the comparison's last word), the output pass.
_MUL_CYCLES = 3 + 2 + WORDS * WORDS + 2 + WORDS


def op_cycles(op: int) -> int:
    """Clock cycles of one instruction with opcode *op*, fetch and decode included."""
    return {
        STOP: 3,
        MUL: _MUL_CYCLES,
        ADD: 3 + WORDS + 1 + WORDS,
        ADDK: 3 + WORDS + 1 + WORDS,
        SUB: 3 + WORDS + 1 + WORDS,
        SEL: 3 + WORDS,
        BIT: 3 + 1,
        LOOP: 3,
        SETC: 3,
        CHK: 3 + WORDS,
        CLRF: 3,
    }[op]


def cycles(program, entry: int = 0) -> int:
    """Clock cycles the engine takes to run *program* from *entry* to its STOP (counted by
    walking the program: LOOP runs its body 256 times, whatever the data)."""
    total, pc, count = 0, entry, 0
    while True:
        instruction = program[pc]
        total += op_cycles(instruction.op)
        pc += 1
        if instruction.op == STOP:
            return total
        if instruction.op == SETC:
            count = _COUNT_START
        elif instruction.op == LOOP and count:
            count -= 1
            pc = instruction.target


def _words(value: int) -> list[int]:
    return [(value >> (WORD_BITS * j)) & _MASK for j in range(WORDS)]


class P256ALU(wiring.Component):
    """The microcoded P-256 field engine.

    Attributes
    ----------
    start : In(1)
        A pulse while idle starts the program at ``entry``.
    entry : In(_PC_BITS)
        The first instruction's address, read with ``start``.
    busy : Out(1)
        High from the cycle after ``start`` until the program's STOP.
    addr : In(9)
        While idle, the register file's word address (register * 8 + word) read on
        ``rdata`` the next cycle and written with ``we``.
    wdata : In(32)
    we : In(1)
    rdata : Out(32)
        The word addressed the cycle before, if its register is *readable* and ``fault`` is
        low; 0 otherwise.
    fault : Out(1)
        Set by a CHK that fails, until a CLRF (0 after reset): the program's checks of its own
        results. While it is set a *readable* engine reads 0 everywhere, so a result that
        failed its check never leaves.

    Parameters
    ----------
    program : list of Instruction
        The microcode (a ROM), at most 1,024 instructions.
    init : list of int
        The register file's contents after configuration, one 256-bit value per register
        (at most :data:`REGISTERS`; the rest are 0).
    readable : iterable of int or None
        The registers ``rdata`` shows (the results); every other register reads as 0, so a key
        or a nonce loaded into the engine, and the intermediate values derived from it, never
        reach its output. None (for unit tests) shows all.
    """

    start: In(1)
    entry: In(_PC_BITS)
    busy: Out(1)
    addr: In(3 + _REG_BITS)
    wdata: In(WORD_BITS)
    we: In(1)
    rdata: Out(WORD_BITS)
    fault: Out(1)

    def __init__(self, program, init=(), *, readable=None):
        program = list(program)
        if not 1 <= len(program) <= 2**_PC_BITS:
            raise ValueError(f"a program has 1..{2**_PC_BITS} instructions, not {len(program)}")
        if not all(isinstance(i, Instruction) for i in program):
            raise TypeError("a program is a list of p256_alu.Instruction")
        init = list(init)
        if len(init) > REGISTERS or not all(0 <= v < 2 ** (WORDS * WORD_BITS) for v in init):
            raise ValueError(f"init holds at most {REGISTERS} values in [0, 2^256)")
        if readable is not None:
            readable = sorted(set(readable))
            if not all(isinstance(r, int) and 0 <= r < REGISTERS for r in readable):
                raise ValueError(f"readable registers must be in 0..{REGISTERS - 1}")
        self.program = program
        self.init = init
        self.readable = readable
        super().__init__()

    def elaborate(self, platform):
        m = Module()

        words = [w for value in self.init for w in _words(value)]
        # Block RAM for both, whatever their size (Yosys would put a small ROM in LUTs).
        m.submodules.rf = rf = Memory(
            shape=WORD_BITS, depth=REGISTERS * WORDS, init=words, attrs={"ram_style": "block"}
        )
        port_a = rf.read_port()
        port_b = rf.read_port()
        port_w = rf.write_port()
        m.submodules.rom = rom = Memory(
            shape=_INSTRUCTION_BITS,
            depth=len(self.program),
            init=[i.encode() for i in self.program],
            attrs={"rom_style": "block", "ram_style": "block"},
        )
        rom_port = rom.read_port()

        # The moduli, a word at a time, and their Montgomery factors.
        # Index: the mod bit, then ADDK's (n - 1, whatever the mod bit).
        moduli = (*MODULI, KEY_MODULUS, KEY_MODULUS)
        modulus_words = Array(Const(w, WORD_BITS) for mod in moduli for w in _words(mod))
        factors = Array(Const(montgomery_inverse_word(mod), WORD_BITS) for mod in MODULI)

        pc = Signal(_PC_BITS)
        op = Signal(4)
        nonzero = Signal()  # CHK's OR of the words read
        mod = Signal()
        key_mod = Signal()  # ADDK: modulo n - 1
        dst = Signal(_REG_BITS)
        reg_a = Signal(_REG_BITS)
        reg_b = Signal(_REG_BITS)
        target = Signal(_PC_BITS)
        count = Signal(8)
        bit = Signal()

        j = Signal(range(WORDS + 1))
        i = Signal(range(WORDS + 1))
        t = [Signal(WORD_BITS, name=f"t{k}") for k in range(WORDS)]
        t_top = Signal(2)  # t[8]
        b_word = Signal(WORD_BITS)  # b[i]
        q = Signal(WORD_BITS)  # the reduction factor of this i
        q_next = Signal(WORD_BITS)  # the next i's
        u = Signal(WORD_BITS)  # t[0] + a[0] * b[i + 1] mod 2^32, for q_next
        a0 = Signal(WORD_BITS)  # a[0]
        s = Signal(range(WORDS + 2))  # MUL's cycle within a word b[i] (8 and 9: the tail)
        borrow = Signal()  # MUL's comparison of t with m, a word behind t's shift register
        acc = Signal(range(-4, 4))  # the add passes' signed carry
        negative = Signal()

        modulus_word = modulus_words[Cat(j[:3], mod, key_mod)]
        j_next = (j + 1)[:3]
        addr_a = Signal(3 + _REG_BITS)
        addr_b = Signal(3 + _REG_BITS)
        m.d.comb += [
            port_a.addr.eq(addr_a),
            port_b.addr.eq(addr_b),
            rom_port.addr.eq(pc),
            addr_a.eq(Cat(Const(0, 3), reg_a)),
            addr_b.eq(Cat(i[:3], reg_b)),
            port_w.addr.eq(Cat(j[:3], dst)),
        ]

        # Two multipliers, a[j] * b[i] and q * m[j], their products registered and added a cycle
        # later to the column: t + both products + the carry (33 bits). A third, low half only,
        # computes the next word's q meanwhile.
        mul_x = Signal(WORD_BITS)
        mul_y = Signal(WORD_BITS)
        product = Signal(2 * WORD_BITS)
        product_m = Signal(2 * WORD_BITS)
        product_a = Signal(2 * WORD_BITS)  # registered
        product_q = Signal(2 * WORD_BITS)  # registered
        low_x = Signal(WORD_BITS)
        low_y = Signal(WORD_BITS)
        low = Signal(WORD_BITS)
        carry = Signal(WORD_BITS + 1)
        column = Signal(2 * WORD_BITS + 2)
        top = Signal(WORD_BITS + 2)
        column_modulus = modulus_words[Cat(s[:3], mod, Const(0, 1))]
        column_0 = s[:3] == 1  # s = 1, and s = 9 in the tail: the last top word
        m.d.comb += [
            mul_x.eq(port_a.data),
            mul_y.eq(b_word),
            product.eq(mul_x * mul_y),
            product_m.eq(q * column_modulus),
            low.eq((low_x * low_y)[:WORD_BITS]),
            # Column 0 (s = 1) takes no carry: the carry goes to the top word instead.
            column.eq(t[1] + product_a + product_q + Mux(column_0, 0, carry)),
            top.eq(t_top + carry),
        ]
        # The comparison of t with m, a word at a time: m[s - 3] for the word that entered t's
        # shift register the cycle before.
        compared_modulus = modulus_words[Cat((s - 3)[:3], mod, Const(0, 1))]
        compared = Signal(WORD_BITS + 1)
        borrow_out = compared[WORD_BITS]
        m.d.comb += compared.eq(t[WORDS - 1] - compared_modulus - borrow)

        def shift_in(word):
            return [*(t[k].eq(t[k + 1]) for k in range(WORDS - 1)), t[WORDS - 1].eq(word)]

        def accumulate():
            """One cycle of MUL's accumulation. The column's word of t is t[1]: each cycle
            shifts in the column's low word (keeping its carry), except column 0 (s = 1), whose
            low word is zero by construction: it shifts in the word above the previous b[i]'s
            last column (t[8] + carry) instead. The comparison takes the word shifted in the
            cycle before (restarting at s = 2, before b[7]'s column 1 arrives)."""
            m.d.sync += [
                product_a.eq(product),
                product_q.eq(product_m),
                carry.eq(column[WORD_BITS:]),
                borrow.eq(Mux(s == 2, 0, borrow_out)),
            ]
            with m.If(column_0):
                m.d.sync += [*shift_in(top[:WORD_BITS]), t_top.eq(top[WORD_BITS:])]
            with m.Else():
                m.d.sync += shift_in(column[:WORD_BITS])

        # The read port shows a word only if its register is readable (checked on the address,
        # registered beside the memory's own address register).
        if self.readable is None:
            m.d.comb += self.rdata.eq(port_a.data)
        else:
            shown = Signal()
            register = self.addr[3:]
            m.d.sync += shown.eq(Cat(register == r for r in self.readable).any())
            m.d.comb += self.rdata.eq(Mux(shown & ~self.fault, port_a.data, 0))

        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += [
                    addr_a.eq(self.addr),
                    port_w.addr.eq(self.addr),
                    port_w.data.eq(self.wdata),
                    port_w.en.eq(self.we),
                ]
                with m.If(self.start):
                    m.d.sync += pc.eq(self.entry)
                    m.next = "FETCH"
            with m.State("FETCH"):
                m.d.comb += self.busy.eq(1)
                m.next = "DECODE"
            with m.State("DECODE"):
                m.d.comb += self.busy.eq(1)
                word = rom_port.data
                m.d.sync += [
                    op.eq(word[0:4]),
                    mod.eq(word[4]),
                    key_mod.eq(word[0:4] == ADDK),
                    dst.eq(word[5 : 5 + _REG_BITS]),
                    reg_a.eq(word[5 + _REG_BITS : 5 + 2 * _REG_BITS]),
                    reg_b.eq(word[5 + 2 * _REG_BITS : 5 + 3 * _REG_BITS]),
                    target.eq(word[5 + _REG_BITS : 5 + _REG_BITS + _PC_BITS]),
                    pc.eq(pc + 1),
                    j.eq(0),
                    i.eq(0),
                ]
                m.next = "EXECUTE"
            with m.State("EXECUTE"):
                # First cycle of every instruction: addresses word 0 of a and b (and b[0]).
                m.d.comb += self.busy.eq(1)
                m.d.sync += [carry.eq(0), acc.eq(0)]
                with m.Switch(op):
                    with m.Case(STOP):
                        m.next = "IDLE"
                    with m.Case(MUL):
                        m.d.sync += [w.eq(0) for w in (*t, t_top)]
                        m.next = "MUL_B"
                    with m.Case(ADD, SUB, SEL, ADDK):
                        m.next = "PASS"
                    with m.Case(BIT):
                        m.d.comb += addr_a.eq(Cat(count[5:8], reg_a))
                        m.next = "BIT"
                    with m.Case(LOOP):
                        with m.If(count != 0):
                            m.d.sync += [count.eq(count - 1), pc.eq(target)]
                        m.next = "FETCH"
                    with m.Case(SETC):
                        m.d.sync += count.eq(_COUNT_START)
                        m.next = "FETCH"
                    with m.Case(CHK):
                        m.d.sync += nonzero.eq(0)
                        m.next = "CHK"
                    with m.Case(CLRF):
                        m.d.sync += self.fault.eq(0)
                        m.next = "FETCH"
                    with m.Default():  # no such opcode: the program is wrong; stop
                        m.next = "IDLE"
            with m.State("CHK"):
                # fault |= (a != 0) if mod is 0, (a == 0) if mod is 1; every word read.
                any_word = nonzero | (port_a.data != 0)
                m.d.comb += [self.busy.eq(1), addr_a.eq(Cat(j_next, reg_a))]
                m.d.sync += [nonzero.eq(any_word), j.eq(j + 1)]
                with m.If(j == WORDS - 1):
                    m.d.sync += self.fault.eq(self.fault | (any_word ^ mod))
                    m.next = "FETCH"
            with m.State("BIT"):
                m.d.comb += self.busy.eq(1)
                m.d.sync += bit.eq(port_a.data.bit_select(count[0:5], 1))
                m.next = "FETCH"

            # ---- MUL: per word b[i], a * b[i] and q * m beside each other, q ahead ----
            with m.State("MUL_B"):
                # a[0] and b[0] (addressed in EXECUTE): u = a[0] b[0] (t is 0).
                m.d.comb += [self.busy.eq(1), low_x.eq(port_a.data), low_y.eq(port_b.data)]
                m.d.sync += [
                    a0.eq(port_a.data),
                    b_word.eq(port_b.data),
                    u.eq(low),
                    product_a.eq(0),
                    product_q.eq(0),
                    carry.eq(0),
                    s.eq(0),
                ]
                m.next = "MUL_Q"
            with m.State("MUL_Q"):
                # q = u m' for b[0]; a[0] is addressed (the default) for the first column.
                m.d.comb += [self.busy.eq(1), low_x.eq(u), low_y.eq(factors[mod])]
                m.d.sync += q.eq(low)
                m.next = "MUL_RUN"
            with m.State("MUL_RUN"):
                # Eight cycles per word b[i]: column s multiplied, column s - 1 added; the next
                # word's q = (t[0] + a[0] b[i + 1]) m' mod 2^32 computed in between.
                m.d.comb += [
                    self.busy.eq(1),
                    addr_a.eq(Cat((s + 1)[:3], reg_a)),
                    addr_b.eq(Cat((i + 1)[:3], reg_b)),
                ]
                accumulate()
                with m.Switch(s):
                    with m.Case(1):  # b[i + 1], addressed since s = 0
                        m.d.comb += [low_x.eq(a0), low_y.eq(port_b.data)]
                        m.d.sync += u.eq(low)
                    with m.Case(3):  # t[0] (the column 1 added at s = 2) entered t[7]
                        m.d.sync += u.eq(u + t[WORDS - 1])
                    with m.Case(4):
                        m.d.comb += [low_x.eq(u), low_y.eq(factors[mod])]
                        m.d.sync += q_next.eq(low)
                m.d.sync += s.eq(s + 1)
                with m.If(s == WORDS - 1):
                    m.d.sync += [b_word.eq(port_b.data), q.eq(q_next), i.eq(i + 1)]
                    with m.If(i != WORDS - 1):
                        m.d.sync += s.eq(0)
                    with m.Else():
                        m.next = "MUL_TAIL"
            with m.State("MUL_TAIL"):
                # s = 8: the last column; s = 9: the top word, which the comparison takes at
                # once, beside t's word 7 (the cycle before's): t < m if t[8] is 0 and it borrows.
                top_compared = Signal(WORD_BITS + 1)
                top_modulus = modulus_words[Cat(Const(WORDS - 1, 3), mod, Const(0, 1))]
                m.d.comb += [
                    self.busy.eq(1),
                    top_compared.eq(top[:WORD_BITS] - top_modulus - borrow_out),
                ]
                accumulate()
                m.d.sync += [s.eq(s + 1), j.eq(0), acc.eq(0)]
                with m.If(s == WORDS + 1):
                    m.d.sync += negative.eq(top_compared[WORD_BITS] & (top[WORD_BITS:] == 0))
                    m.next = "MUL_OUT"
            with m.State("MUL_OUT"):
                # dst = t - m, or t if that borrowed (t < m), word by word.
                diff = Signal(WORD_BITS + 1)
                m.d.comb += [
                    self.busy.eq(1),
                    diff.eq(t[0] - modulus_word - acc[0]),
                    port_w.data.eq(Mux(negative, t[0], diff[:WORD_BITS])),
                    port_w.en.eq(1),
                ]
                m.d.sync += [*shift_in(t[0]), acc.eq(diff[WORD_BITS]), j.eq(j + 1)]
                with m.If(j == WORDS - 1):
                    m.next = "FETCH"

            # ---- ADD / SUB / SEL: one pass over the words ----
            with m.State("PASS"):
                x = port_a.data
                y = port_b.data
                total = Signal(range(-(2**34), 2**34))
                with m.Switch(op):
                    with m.Case(ADD, ADDK):
                        m.d.comb += total.eq(x + y - modulus_word + acc)
                    with m.Case(SUB):
                        m.d.comb += total.eq(x - y + acc)
                    with m.Default():
                        m.d.comb += total.eq(Mux(bit, y, x))
                m.d.comb += [
                    self.busy.eq(1),
                    addr_a.eq(Cat(j_next, reg_a)),
                    addr_b.eq(Cat(j_next, reg_b)),
                    port_w.data.eq(total[:WORD_BITS]),
                    port_w.en.eq(1),
                ]
                m.d.sync += [acc.eq(total[WORD_BITS:]), j.eq(j + 1)]
                with m.If(j == WORDS - 1):
                    m.d.sync += negative.eq(total[-1])
                    with m.If(op == SEL):
                        m.next = "FETCH"
                    with m.Else():
                        m.next = "FIX_ADDRESS"

            # ---- the fix pass: dst += m if negative, else dst += 0 ----
            with m.State("FIX_ADDRESS"):
                m.d.comb += [self.busy.eq(1), addr_a.eq(Cat(Const(0, 3), dst))]
                m.d.sync += [j.eq(0), acc.eq(0)]
                m.next = "FIX"
            with m.State("FIX"):
                fixed = Signal(WORD_BITS + 1)
                m.d.comb += [
                    self.busy.eq(1),
                    addr_a.eq(Cat(j_next, dst)),
                    fixed.eq(port_a.data + Mux(negative, modulus_word, 0) + acc[0]),
                    port_w.data.eq(fixed[:WORD_BITS]),
                    port_w.en.eq(1),
                ]
                m.d.sync += [acc.eq(fixed[WORD_BITS]), j.eq(j + 1)]
                with m.If(j == WORDS - 1):
                    m.next = "FETCH"
        return m


def run_model(program, registers, entry: int = 0, fault: bool = False):
    """Run *program* on a Python model of the engine: ``registers`` (a list of
    :data:`REGISTERS` integers) is updated in place as the gateware would leave it; *fault* is
    the flag before the start. Returns the clock cycles taken (:func:`cycles`) and the flag."""
    r_inverse = [pow(2 ** (WORDS * WORD_BITS), -1, modulus) for modulus in MODULI]
    pc, count, bit, total = entry, 0, 0, 0
    while True:
        ins = program[pc]
        total += op_cycles(ins.op)
        pc += 1
        modulus = KEY_MODULUS if ins.op == ADDK else MODULI[ins.mod]
        x, y = registers[ins.a], registers[ins.b]
        if ins.op == STOP:
            return total, fault
        if ins.op == MUL:
            registers[ins.dst] = x * y * r_inverse[ins.mod] % modulus
        elif ins.op in (ADD, ADDK):
            registers[ins.dst] = (x + y) % modulus
        elif ins.op == SUB:
            registers[ins.dst] = (x - y) % modulus
        elif ins.op == SEL:
            registers[ins.dst] = y if bit else x
        elif ins.op == BIT:
            bit = (x >> count) & 1
        elif ins.op == SETC:
            count = _COUNT_START
        elif ins.op == LOOP and count:
            count -= 1
            pc = ins.target
        elif ins.op == CHK:
            fault |= (x != 0) != bool(ins.mod)
        elif ins.op == CLRF:
            fault = False
