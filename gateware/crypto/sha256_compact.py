"""SHA-256 (FIPS 180-4), compact: one 32-bit adder shared by every sum, 18 cycles a round.

The same interface as :class:`~ropuf.gateware.crypto.sha256.SHA256` (a byte stream in, the
256-bit digest out), for the iCE40UP5K, where area matters and a key derivation hashes only a
handful of blocks. One block RAM with one synchronous read port holds the message window (16
words), the chaining value H (8 words), the IV and the round constants (as its init). The
working variables a..h are a shift register of flip-flops, which also holds the digest while it
is offered. Every addition goes through one 32-bit adder into one accumulator, an operand a
cycle (the operand of each step is named below; a read is addressed the step before):

* schedule: ``acc = s1(W[t-2]); += W[t-7]; += s0(W[t-15]); += W[t-16]``, written back as W[t]
  (for t < 16 the fourth step takes the word the message filled in alone, without the
  accumulator);
* ``acc += K[t]; += h``; four rotations of a..h (h into a, through the adder) bring e, f, g to
  a, b, c; ``acc += S1(e); += Ch(e, f, g)`` (acc = T1); ``d + T1`` shifted in as the new e;
  three rotations bring a, b, c back; ``acc += S0(a); += Maj(a, b, c)`` shifted in as the new
  a. Rotating instead of reading e..h in place lets one LUT a bit make Ch or Maj, and one
  network S0 or S1, and keeps d and h out of the operand multiplexer;
* after round 63, ``H[i] += s[i]``, two cycles a word, the sums shifted back into a..h and
  written to H.

Area, iCE40UP5K (Yosys ``synth_ice40``, nextpnr, the core alone;
benchmarks/bench_sha256_compact.py): about 1,020 logic cells and 2 block RAMs, 25 MHz; about 980
with a 13-bit length counter (``length_bits``). 256 of those cells are a..h (the digest port's
flip-flops). The fast core: about 1,700 cells and 6 block RAMs, 9.6 times fewer cycles per block.

The cycle count is fixed per block and depends only on the message length and on when the
stream offers bytes and takes digests, never on the data: the core has no data-dependent branch.
"""

from amaranth.hdl import Cat, Const, Module, Mux, ResetInserter, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ropuf.gateware.crypto.sha256 import (
    IV,
    MESSAGE_BYTE,
    ROUND_CONSTANTS,
    blocks,
    message_states,
    next_block,
    shift_digest,
)
from ropuf.spec.checks import check_int

__all__ = [
    "BLOCK_CYCLES",
    "FINAL_CYCLES",
    "INIT_CYCLES",
    "MAX_LENGTH_BITS",
    "ROUND_CYCLES",
    "SHA256Compact",
    "digest_cycles",
]

#: The widest message-length counter, in bytes: 2 ** 64 - 1 bits, what SHA-256 defines.
MAX_LENGTH_BITS = 61

#: Cycles of one round: four for the schedule word, seven for T1, e and a.
ROUND_CYCLES = 18

#: Cycles adding the chaining value back after the 64 rounds: two per word.
FINAL_CYCLES = 16

#: Clock cycles per 64-byte block when bytes arrive every cycle: 64 to take the bytes (message
#: or padding), 64 rounds of :data:`ROUND_CYCLES`, :data:`FINAL_CYCLES`.
BLOCK_CYCLES = 64 + 64 * ROUND_CYCLES + FINAL_CYCLES

#: Cycles loading the IV (into a..h and H) before the first byte of a message is taken.
INIT_CYCLES = 9

# Schedule steps (0..3), then the T1 / e / a steps (4..10).
_STEP_LAST = ROUND_CYCLES - 1
# Addresses in the shared RAM: W[0..15], then H[0..7].
_H_BASE = 16
_IV_BASE = 24
_K_BASE = 64
_SPARE = 32  # never written


def digest_cycles(length: int) -> int:
    """Clock cycles from the first beat of a *length*-byte message to ``o_digest.valid``, when
    every beat is offered as soon as the core is ready (counted as for
    :func:`ropuf.gateware.crypto.sha256.digest_cycles`): ``BLOCK_CYCLES * blocks(length)``."""
    return BLOCK_CYCLES * blocks(length)


def _rotr(value, amount: int):
    return value.rotate_right(amount)


class SHA256Compact(wiring.Component):
    """SHA-256 of a byte stream, over one shared 32-bit adder.

    Attributes
    ----------
    i_stream : In(stream.Signature(MESSAGE_BYTE))
        The message, one byte per transfer (as for :class:`~ropuf.gateware.crypto.sha256.SHA256`).
        ``ready`` is high while the core fills a block, one byte a cycle; low while it loads the
        IV (:data:`INIT_CYCLES` after a reset or a digest taken), during the rounds, and from the
        end of the message until the digest has been taken.
    o_digest : Out(stream.Signature(256))
        The digest, byte 0 in bits 255..248. ``valid`` rises right after the chaining value of
        the last block is added, and stays high, the payload stable, until ``ready``. While
        ``valid`` is low the payload shows the working variables (not gated).
    digest_shift : In(1)
        The digest a byte at a time, as :class:`~ropuf.gateware.crypto.sha256.SHA256`'s: while
        ``o_digest.valid``, each cycle with ``digest_shift`` rotates the payload one byte toward
        the top. The rotation is a LUT in front of each of a..h's flip-flops, in the same logic
        cells: a reader needs no 256-bit register of its own.

    Parameters
    ----------
    length_bits : int
        Width of the message-length counter, in bytes counted: 61 (the default) hashes any
        length SHA-256 defines, like the fast core; a key derivation that hashes short messages
        can save about 40 logic cells with 13 (messages up to 8,191 bytes). Longer messages
        would be hashed with a wrong length in the padding: the core does not check.

    Notes
    -----
    A 64-byte block takes :data:`BLOCK_CYCLES` = 1,232 cycles when bytes come every cycle; an
    n-byte message ``1232 * blocks(n)`` cycles from the first beat taken to ``o_digest.valid``
    (:func:`digest_cycles`). Each cycle in which the core is ready and no beat is offered delays
    the digest by one cycle; the count never depends on the data.
    """

    i_stream: In(stream.Signature(MESSAGE_BYTE))
    o_digest: Out(stream.Signature(256))
    digest_shift: In(1)

    def __init__(self, *, length_bits: int = MAX_LENGTH_BITS):
        self.length_bits = check_int("length_bits", length_bits, 1, MAX_LENGTH_BITS)
        super().__init__()

    def elaborate(self, platform):
        m = Module()

        # One block RAM, one read port: W[0..15], H[0..7], the IV in reverse order (shifted
        # into a..h, H[7] first), and from address 64 the round constants K[0..63]. No cycle
        # reads the address it writes (the test watches `rw_collision`), so Yosys is told not to
        # build a bypass for that case (`no_rw_check`: about 60 logic cells).
        m.submodules.ram = ram = Memory(
            shape=32,
            depth=128,
            init=[*([0] * _H_BASE), *([0] * 8), *reversed(IV), *([0] * 32), *ROUND_CONSTANTS],
            attrs={"ram_style": "block", "no_rw_check": 1},
        )
        r_port = ram.read_port()
        w_port = ram.write_port()
        rd = r_port.data
        #: High in a cycle that reads and writes the same RAM address (never; for the tests).
        self.rw_collision = Signal()
        m.d.comb += self.rw_collision.eq((w_port.en != 0) & (w_port.addr == r_port.addr))

        gather = Signal(24)
        pos = Signal(6)
        count = Signal(self.length_bits)
        ended = Signal()
        marker = Signal()
        final = Signal()
        t = Signal(6)
        step = Signal(5)  # micro-step within a round, a final-addition or IV-load step
        s = [Signal(32, name=f"s{name}", reset_less=True) for name in "abcdefgh"]
        a, b, c, hh = s[0], s[1], s[2], s[7]  # the words the round reads in place
        acc = Signal(32, reset_less=True)

        # The shared adder: sum = (acc or 0) + operand.
        use_acc = Signal()
        operand = Signal(32)
        total = Signal(32)
        m.d.comb += total.eq(Cat(acc & use_acc.replicate(32)) + operand)
        shift = Signal()  # a = total, the rest move down one
        byte_shift = Signal()  # digest_shift: the digest rotates one byte (one enable for both)
        with m.If(shift | byte_shift):
            rotated = shift_digest(s)
            m.d.sync += [
                a.eq(Mux(byte_shift, rotated[0], total)),
                *(s[i].eq(Mux(byte_shift, rotated[i], s[i - 1])) for i in range(1, 8)),
            ]

        m.d.comb += self.o_digest.payload.eq(Cat(*reversed(s)))

        # Filling, as in the fast core.
        shift_in = Signal()
        byte = Signal(8)
        with m.If(shift_in):
            m.d.comb += r_port.addr.eq(_SPARE)  # no read; away from the word written
            m.d.sync += [gather.eq(Cat(byte, gather[:-8])), pos.eq(pos + 1)]
            with m.If(pos[:2] == 3):
                m.d.comb += [
                    w_port.en.eq(1),
                    w_port.addr.eq(pos[2:]),
                    w_port.data.eq(Cat(byte, gather)),
                ]

        bit_length = Cat(Const(0, 3), count, Const(0, MAX_LENGTH_BITS - self.length_bits))
        pad_byte = Signal(8)
        with m.If(~marker):
            m.d.comb += pad_byte.eq(0x80)
        with m.Elif(final & (pos[3:] == 0b111)):
            m.d.comb += pad_byte.eq(bit_length.word_select(~pos[:3], 8))

        # The operand functions. The schedule's sigma0 / sigma1 act on the RAM's read data; the
        # round's Sigma0 / Sigma1, Maj / Ch on the top words of a..h: the round rotates e, f, g
        # into a, b, c for T1, and a, b, c back for T2, so one LUT a bit makes Ch or Maj.
        plain = Signal()  # the read data itself in place of sigma0 / sigma1
        pick_1 = Signal()  # sigma1 / Sigma1 / Ch, else sigma0 / Sigma0 / Maj
        sigma = Signal(32)
        big_sigma = Signal(32)
        ch_maj = Signal(32)
        with m.If(pick_1):
            m.d.comb += [
                sigma.eq(_rotr(rd, 17) ^ _rotr(rd, 19) ^ (rd >> 10)),
                big_sigma.eq(_rotr(a, 6) ^ _rotr(a, 11) ^ _rotr(a, 25)),
                ch_maj.eq((a & b) ^ (~a & c)),
            ]
        with m.Else():
            m.d.comb += [
                sigma.eq(_rotr(rd, 7) ^ _rotr(rd, 18) ^ (rd >> 3)),
                big_sigma.eq(_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)),
                ch_maj.eq((a & b) ^ (a & c) ^ (b & c)),
            ]
        with m.If(plain):
            m.d.comb += sigma.eq(rd)
        # Every cycle that uses the adder picks its operand; the others (filling, waiting) take
        # h, so that the multiplexer needs no zero input.
        m.d.comb += operand.eq(hh)
        early = t[4:] == 0  # t < 16: the word comes from the message
        acc_en = Signal()
        with m.If(acc_en):
            m.d.sync += acc.eq(total)

        with m.FSM():
            with m.State("INIT"):
                # Step j presents IV address j; steps 1..8 shift in what step j - 1 read.
                m.d.comb += r_port.addr.eq(_IV_BASE + step[:3])
                m.d.sync += step.eq(step + 1)
                with m.If(step != 0):
                    m.d.comb += [
                        operand.eq(sigma),
                        plain.eq(1),
                        shift.eq(1),
                        w_port.en.eq(1),
                        w_port.addr.eq(_H_BASE + 8 - step),
                        w_port.data.eq(total),
                    ]
                with m.If(step == INIT_CYCLES - 1):
                    m.d.sync += step.eq(0)
                    m.next = "FILL"

            message_states(
                m, self.i_stream, shift_in=shift_in, byte=byte, pad_byte=pad_byte, pos=pos,
                count=count, ended=ended, marker=marker, final=final,
            )  # fmt: skip

            with m.State("ROUNDS"):
                # a..h written [a b c d e f g h]; "rotate" moves h to the front through the
                # adder (operand h, no accumulator).
                m.d.sync += step.eq(step + 1)
                with m.Switch(step):
                    with m.Case(0):  # acc = sigma1(W[t - 2])
                        m.d.comb += [r_port.addr.eq((t - 7)[:4]), acc_en.eq(1), pick_1.eq(1)]
                        m.d.comb += operand.eq(sigma)
                    with m.Case(1):  # += W[t - 7]
                        m.d.comb += [r_port.addr.eq((t - 15)[:4]), use_acc.eq(1), acc_en.eq(1)]
                        m.d.comb += [operand.eq(sigma), plain.eq(1)]
                    with m.Case(2):  # += sigma0(W[t - 15])
                        m.d.comb += [r_port.addr.eq(t[:4]), use_acc.eq(1), acc_en.eq(1)]
                        m.d.comb += operand.eq(sigma)
                    with m.Case(3):  # += W[t - 16]: W[t] (for t < 16, the message word alone)
                        m.d.comb += [
                            r_port.addr.eq(_K_BASE + t),
                            use_acc.eq(~early),
                            acc_en.eq(1),
                            operand.eq(sigma),
                            plain.eq(1),
                            w_port.en.eq(1),
                            w_port.addr.eq(t[:4]),
                            w_port.data.eq(total),
                        ]
                    with m.Case(4):  # += K[t]
                        m.d.comb += [use_acc.eq(1), acc_en.eq(1), operand.eq(sigma), plain.eq(1)]
                    with m.Case(5):  # += h
                        m.d.comb += [use_acc.eq(1), acc_en.eq(1), operand.eq(hh)]
                    with m.Case(6, 7, 8, 9, 13, 14, 15):  # rotate
                        m.d.comb += [operand.eq(hh), shift.eq(1)]
                    with m.Case(10):  # [e f g h a b c d]: += Sigma1(e)
                        m.d.comb += [use_acc.eq(1), acc_en.eq(1), operand.eq(big_sigma)]
                        m.d.comb += pick_1.eq(1)
                    with m.Case(11):  # += Ch(e, f, g): T1
                        m.d.comb += [use_acc.eq(1), acc_en.eq(1), operand.eq(ch_maj)]
                        m.d.comb += pick_1.eq(1)
                    with m.Case(12):  # e' = d + T1 shifted in: [e' e f g h a b c]
                        m.d.comb += [use_acc.eq(1), operand.eq(hh), shift.eq(1)]
                    with m.Case(16):  # [a b c e' e f g h]: += Sigma0(a)
                        m.d.comb += [use_acc.eq(1), acc_en.eq(1), operand.eq(big_sigma)]
                    with m.Case(_STEP_LAST):  # += Maj(a, b, c): T1 + T2 shifted in
                        m.d.comb += [
                            use_acc.eq(1),
                            operand.eq(ch_maj),
                            shift.eq(1),
                            r_port.addr.eq((t - 1)[:4]),  # W[t + 1 - 2] for the next round
                        ]
                        m.d.sync += [step.eq(0), t.eq(t + 1)]
                        with m.If(t == 63):
                            m.next = "ADD"

            with m.State("ADD"):
                # Word j (H[7 - j]): acc = h, then H + acc shifted in and written back.
                word = _H_BASE + 7 - step[1:4]
                m.d.sync += step.eq(step + 1)
                with m.If(~step[0]):
                    m.d.comb += [operand.eq(hh), r_port.addr.eq(word), acc_en.eq(1)]
                with m.Else():
                    m.d.comb += [
                        use_acc.eq(1),
                        operand.eq(sigma),
                        plain.eq(1),
                        shift.eq(1),
                        w_port.en.eq(1),
                        w_port.addr.eq(word),
                        w_port.data.eq(total),
                    ]
                with m.If(step == FINAL_CYCLES - 1):
                    m.d.sync += step.eq(0)
                    next_block(m, final=final, ended=ended, marker=marker)

            with m.State("DONE"):
                m.d.comb += self.o_digest.valid.eq(1)
                m.d.comb += byte_shift.eq(self.digest_shift)

        return ResetInserter({"sync": self.o_digest.valid & self.o_digest.ready})(m)
