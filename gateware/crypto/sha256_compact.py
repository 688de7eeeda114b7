"""SHA-256 (FIPS 180-4), compact: every word in one block RAM, one 32-bit adder, 13 cycles a
round.

The same interface as :class:`~ropuf.gateware.crypto.sha256.SHA256` (a byte stream in, the
digest out a byte at a time), for the iCE40UP5K, where area matters and a key derivation hashes
only a handful of blocks. One block RAM with one synchronous read port holds everything: the
message window (16 words), the chaining value H (8 words), the IV, the round constants (as its
init), and the working variables. Each round writes only two of those, the new a and the new e;
the others are earlier rounds' a and e (b = a[t-1], ..., h = e[t-3]), so the RAM keeps the last
four of each, written in turn (``a`` at slot ``t % 4``). Every addition goes through one 32-bit
adder into one accumulator, an operand a cycle (the operand of each step is named below; a read
is addressed the step before):

* schedule: ``acc = s1(W[t-2]); += W[t-7]; += s0(W[t-15]); += W[t-16]``, written back as W[t]
  (for t < 16 the fourth step takes the word the message filled in alone);
* ``acc += K[t]; += h; += S1(e)`` (``x = e``); ``+= x & f; += ~x & g`` (Ch as a sum: the two
  terms never share a bit; acc = T1); ``e' = d + T1`` written;
* ``acc += S0(a)`` (``x = a``); ``+= x & b`` (``x = a ^ b``); ``a' = acc + (x & c)`` written
  (Maj as a sum, ``(a & b) + (c & (a ^ b))``, for the same reason).

So the datapath is the adder, the accumulator, one 32-bit register ``x`` and the operand
functions of the read word; no working variable is held in flip-flops. After round 63,
``H[i] += s[i]`` and the sum goes to both H[i] and the working variable's slot (the next
block's start), three cycles a word; loading the IV after a reset does the same with the IV.

The digest is read a byte at a time from H in the RAM (``digest_shift``), as the key engine
reads it: ``o_digest.payload`` holds the current byte in bits 255..248 and zeros below, unlike
the fast core, which shows all 256 bits.

Area, iCE40UP5K (Yosys ``synth_ice40``, nextpnr, the core alone;
benchmarks/bench_sha256_compact.py): see docs/boards.md and the benchmark's figures. The fast
core: about 1,700 cells and 6 block RAMs, 7 times fewer cycles per block.

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

#: Cycles of one round: four for the schedule word, nine for T1, e and a.
ROUND_CYCLES = 13

#: Cycles adding the chaining value back after the 64 rounds: three per word.
FINAL_CYCLES = 24

#: Clock cycles per 64-byte block when bytes arrive every cycle: 64 to take the bytes (message
#: or padding), 64 rounds of :data:`ROUND_CYCLES`, :data:`FINAL_CYCLES`.
BLOCK_CYCLES = 64 + 64 * ROUND_CYCLES + FINAL_CYCLES

#: Cycles loading the IV (into H and the working variables) before the first byte of a message
#: is taken: one to address the first word, three per word.
INIT_CYCLES = 1 + 24

# Addresses in the shared RAM.
_W_BASE = 0  # W[0..15]: the message window
_H_BASE = 16  # H[0..7]: the chaining value
_IV_BASE = 24  # the IV (init)
_A_BASE = 32  # a of rounds t - 4..t - 1, at (t % 4): a, b, c, d
_E_BASE = 36  # e of the same rounds: e, f, g, h
_ZERO = 40  # never written: reads as zero
_K_BASE = 64  # K[0..63] (init)


def digest_cycles(length: int) -> int:
    """Clock cycles from the first beat of a *length*-byte message to ``o_digest.valid``, when
    every beat is offered as soon as the core is ready (counted as for
    :func:`ropuf.gateware.crypto.sha256.digest_cycles`): ``BLOCK_CYCLES * blocks(length)``."""
    return BLOCK_CYCLES * blocks(length)


def _rotr(value, amount: int):
    return value.rotate_right(amount)


def _slot(word):
    """The RAM address of working variable *word* (0 = a .. 7 = h) between blocks, when round
    t = 64 (or 0) is next: a..d are a[t-1]..a[t-4], at slots 3..0; e..h likewise."""
    return _A_BASE + (word ^ 3)


class SHA256Compact(wiring.Component):
    """SHA-256 of a byte stream, every word in block RAM, over one shared 32-bit adder.

    Attributes
    ----------
    i_stream : In(stream.Signature(MESSAGE_BYTE))
        The message, one byte per transfer (as for :class:`~ropuf.gateware.crypto.sha256.SHA256`).
        ``ready`` is high while the core fills a block, one byte a cycle; low while it loads the
        IV (:data:`INIT_CYCLES` after a reset or a digest taken), during the rounds, and from the
        end of the message until the digest has been taken.
    o_digest : Out(stream.Signature(256))
        The digest a byte at a time: bits 255..248 hold byte 0 when ``valid`` rises, and the
        byte ``digest_shift`` has brought up since; the lower bits are zero. ``valid`` rises
        right after the chaining value of the last block is added, and stays high, the byte
        stable, until ``ready``.
    digest_shift : In(1)
        While ``o_digest.valid``, each cycle with ``digest_shift`` brings the next digest byte
        up (after byte 31, byte 0 again), as :class:`~ropuf.gateware.crypto.sha256.SHA256`'s
        payload rotates. The byte is read from H in the RAM: a reader may shift every cycle.

    Parameters
    ----------
    length_bits : int
        Width of the message-length counter, in bytes counted: 61 (the default) hashes any
        length SHA-256 defines, like the fast core; a key derivation that hashes short messages
        can save about 40 logic cells with 13 (messages up to 8,191 bytes). Longer messages
        would be hashed with a wrong length in the padding: the core does not check.

    Notes
    -----
    A 64-byte block takes :data:`BLOCK_CYCLES` = 920 cycles when bytes come every cycle; an
    n-byte message ``920 * blocks(n)`` cycles from the first beat taken to ``o_digest.valid``
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

        # One block RAM, one read port. No cycle reads the address it writes (the test watches
        # `rw_collision`), so Yosys is told not to build a bypass for that case (`no_rw_check`).
        init = [0] * (_K_BASE + 64)
        init[_IV_BASE : _IV_BASE + 8] = IV
        init[_K_BASE:] = ROUND_CONSTANTS
        m.submodules.ram = ram = Memory(
            shape=32, depth=len(init), init=init, attrs={"ram_style": "block", "no_rw_check": 1}
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
        t = Signal(6)  # the round; the word (7 - t[:3]) while adding the chaining value
        step = Signal(4)  # cycle within a round, or within a word of the chaining value
        initial = Signal()  # loading the IV, not adding a block's result
        acc = Signal(32, reset_less=True)
        x = Signal(32, reset_less=True)  # e for Ch; a, then a ^ b, for Maj

        # The shared adder: total = (acc or 0) + operand.
        use_acc = Signal()
        operand = Signal(32)
        total = Signal(32)
        m.d.comb += total.eq(Cat(acc & use_acc.replicate(32)) + operand)
        acc_en = Signal()
        with m.If(acc_en):
            m.d.sync += acc.eq(total)

        # The operand: a function of the word read.
        fn = Signal(3)
        plain, s0, s1, big_s0, big_s1, and_x, and_not_x = range(7)
        with m.Switch(fn):
            with m.Case(plain):
                m.d.comb += operand.eq(rd)
            with m.Case(s0):
                m.d.comb += operand.eq(_rotr(rd, 7) ^ _rotr(rd, 18) ^ (rd >> 3))
            with m.Case(s1):
                m.d.comb += operand.eq(_rotr(rd, 17) ^ _rotr(rd, 19) ^ (rd >> 10))
            with m.Case(big_s0):
                m.d.comb += operand.eq(_rotr(rd, 2) ^ _rotr(rd, 13) ^ _rotr(rd, 22))
            with m.Case(big_s1):
                m.d.comb += operand.eq(_rotr(rd, 6) ^ _rotr(rd, 11) ^ _rotr(rd, 25))
            with m.Case(and_x):
                m.d.comb += operand.eq(x & rd)
            with m.Default():
                m.d.comb += operand.eq(~x & rd)

        def write(address):
            return [w_port.en.eq(1), w_port.addr.eq(address), w_port.data.eq(total)]

        # Filling, as in the fast core.
        shift_in = Signal()
        byte = Signal(8)
        with m.If(shift_in):
            m.d.comb += r_port.addr.eq(_ZERO)  # no read; away from the word written
            m.d.sync += [gather.eq(Cat(byte, gather[:-8])), pos.eq(pos + 1)]
            with m.If(pos[:2] == 3):
                m.d.comb += [
                    w_port.en.eq(1),
                    w_port.addr.eq(_W_BASE + pos[2:]),
                    w_port.data.eq(Cat(byte, gather)),
                ]

        bit_length = Cat(Const(0, 3), count, Const(0, MAX_LENGTH_BITS - self.length_bits))
        pad_byte = Signal(8)
        with m.If(~marker):
            m.d.comb += pad_byte.eq(0x80)
        with m.Elif(final & (pos[3:] == 0b111)):
            m.d.comb += pad_byte.eq(bit_length.word_select(~pos[:3], 8))

        early = t[4:] == 0  # t < 16: the word comes from the message
        word = ~t[:3]  # the chaining-value word being added (7 first)
        # The digest, a byte at a time from H.
        digest_pos = Signal(5)
        next_pos = Signal(5)
        m.d.comb += self.o_digest.payload[-8:].eq(rd.word_select(~digest_pos[:2], 8))

        with m.FSM():
            with m.State("INIT"):
                m.d.comb += r_port.addr.eq(_IV_BASE + 7)
                m.d.sync += [initial.eq(1), t.eq(0), step.eq(0)]
                m.next = "LOAD"

            message_states(
                m, self.i_stream, shift_in=shift_in, byte=byte, pad_byte=pad_byte, pos=pos,
                count=count, ended=ended, marker=marker, final=final,
            )  # fmt: skip

            with m.State("ROUNDS"):
                m.d.sync += step.eq(step + 1)

                def e(k):
                    return _E_BASE + (t - k)[:2]

                def a(k):
                    return _A_BASE + (t - k)[:2]

                with m.Switch(step):
                    with m.Case(0):  # acc = s1(W[t - 2])
                        m.d.comb += [r_port.addr.eq((t - 7)[:4]), acc_en.eq(1), fn.eq(s1)]
                    with m.Case(1):  # += W[t - 7]
                        m.d.comb += [r_port.addr.eq((t - 15)[:4]), use_acc.eq(1), acc_en.eq(1)]
                    with m.Case(2):  # += s0(W[t - 15])
                        m.d.comb += [r_port.addr.eq(t[:4]), use_acc.eq(1), acc_en.eq(1)]
                        m.d.comb += fn.eq(s0)
                    with m.Case(3):  # += W[t - 16]: W[t] (for t < 16, the message word alone)
                        m.d.comb += [r_port.addr.eq(_K_BASE + t), use_acc.eq(~early)]
                        m.d.comb += [acc_en.eq(1), *write(_W_BASE + t[:4])]
                    with m.Case(4):  # += K[t]
                        m.d.comb += [r_port.addr.eq(e(4)), use_acc.eq(1), acc_en.eq(1)]
                    with m.Case(5):  # += h
                        m.d.comb += [r_port.addr.eq(e(1)), use_acc.eq(1), acc_en.eq(1)]
                    with m.Case(6):  # += S1(e), x = e
                        m.d.comb += [r_port.addr.eq(e(2)), use_acc.eq(1), acc_en.eq(1)]
                        m.d.comb += fn.eq(big_s1)
                        m.d.sync += x.eq(rd)
                    with m.Case(7):  # += e & f
                        m.d.comb += [r_port.addr.eq(e(3)), use_acc.eq(1), acc_en.eq(1)]
                        m.d.comb += fn.eq(and_x)
                    with m.Case(8):  # += ~e & g: T1
                        m.d.comb += [r_port.addr.eq(a(4)), use_acc.eq(1), acc_en.eq(1)]
                        m.d.comb += fn.eq(and_not_x)
                    with m.Case(9):  # e' = d + T1, written where h was
                        m.d.comb += [r_port.addr.eq(a(1)), use_acc.eq(1), *write(e(4))]
                    with m.Case(10):  # += S0(a), x = a
                        m.d.comb += [r_port.addr.eq(a(2)), use_acc.eq(1), acc_en.eq(1)]
                        m.d.comb += fn.eq(big_s0)
                        m.d.sync += x.eq(rd)
                    with m.Case(11):  # += a & b, x = a ^ b
                        m.d.comb += [r_port.addr.eq(a(3)), use_acc.eq(1), acc_en.eq(1)]
                        m.d.comb += fn.eq(and_x)
                        m.d.sync += x.eq(x ^ rd)
                    with m.Case(12):  # a' = T1 + S0(a) + (a & b) + ((a ^ b) & c), where d was
                        m.d.comb += [use_acc.eq(1), fn.eq(and_x), *write(a(4))]
                        m.d.sync += [step.eq(0), t.eq(t + 1)]
                        with m.If(t == 63):  # the first word to add: h's
                            m.d.comb += r_port.addr.eq(_slot(7))
                            m.d.sync += initial.eq(0)
                            m.next = "LOAD"
                        with m.Else():  # W[t + 1 - 2] for the next round
                            m.d.comb += r_port.addr.eq(_W_BASE + (t - 1)[:4])

            with m.State("LOAD"):
                # Word i = 7 - t[:3] in three steps: acc = s[i] (or IV[i]); H[i] = acc + H[i]
                # (or + 0), kept in acc; s[i] = acc + 0, while the next word's s (or IV) is
                # addressed, or after the last word H[0] for the digest.
                m.d.sync += step.eq(step + 1)
                with m.Switch(step):
                    with m.Case(0):
                        m.d.comb += [r_port.addr.eq(Mux(initial, _ZERO, _H_BASE + word))]
                        m.d.comb += acc_en.eq(1)
                    with m.Case(1):
                        m.d.comb += [r_port.addr.eq(_ZERO), use_acc.eq(1), acc_en.eq(1)]
                        m.d.comb += write(_H_BASE + word)
                    with m.Default():
                        m.d.comb += [use_acc.eq(1), *write(_slot(word))]
                        m.d.sync += [step.eq(0), t.eq(t + 1)]
                        following = ~(t[:3] + 1)[:3]
                        m.d.comb += r_port.addr.eq(
                            Mux(initial, _IV_BASE + following, _slot(following))
                        )
                        with m.If(t[:3] == 7):
                            m.d.comb += r_port.addr.eq(_H_BASE)
                            m.d.sync += t.eq(0)
                            with m.If(initial):
                                m.next = "FILL"
                            with m.Else():
                                next_block(m, final=final, ended=ended, marker=marker)

            with m.State("DONE"):
                m.d.comb += self.o_digest.valid.eq(1)
                m.d.comb += next_pos.eq(digest_pos + self.digest_shift)
                m.d.comb += r_port.addr.eq(_H_BASE + next_pos[2:])
                m.d.sync += digest_pos.eq(next_pos)

        return ResetInserter({"sync": self.o_digest.valid & self.o_digest.ready})(m)
