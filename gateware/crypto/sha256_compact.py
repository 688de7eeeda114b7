"""SHA-256 (FIPS 180-4), compact: one 32-bit adder shared by every sum, 11 cycles a round.

The same interface as :class:`~ropuf.gateware.crypto.sha256.SHA256` (a byte stream in, the
256-bit digest out), for the iCE40UP5K, where area matters and a key derivation hashes only a
handful of blocks. The message window (16 words) and the chaining value H (8 words) share one
block RAM of 32 words with a single synchronous read port; the round constants and the IV share
one ROM. The working variables a..h are a shift register of flip-flops, which also holds the
digest when it is offered. Every addition (schedule word, T1, the new e, the new a, the chaining
value) goes through one 32-bit adder into one accumulator, an operand a cycle:

* schedule: ``acc = s1(W[t-2]); += W[t-7]; += s0(W[t-15]); += W[t-16]`` (for t < 16 the first
  three add zero and the fourth reads the word the message filled in);
* ``acc += K[t]; += h; += S1(e); += Ch(e, f, g)`` (acc = T1), ``d += T1``,
  ``acc += S0(a); += Maj(a, b, c)`` and the shift (a = acc, e = d + T1);
* after round 63, ``H[i] += s[i]``, two cycles a word, the sums shifted back into a..h.

The cycle count is fixed per block and depends only on the message length and on when the
stream offers bytes and takes digests, never on the data: the core has no data-dependent branch.
"""

from amaranth.hdl import Cat, Const, Module, ResetInserter, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ropuf.gateware.crypto.sha256 import IV, MESSAGE_BYTE, ROUND_CONSTANTS, blocks

__all__ = [
    "BLOCK_CYCLES",
    "FINAL_CYCLES",
    "INIT_CYCLES",
    "ROUND_CYCLES",
    "SHA256Compact",
    "digest_cycles",
]

#: Cycles of one round: four for the schedule word, seven for T1, e and a.
ROUND_CYCLES = 11

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

    Notes
    -----
    A 64-byte block takes :data:`BLOCK_CYCLES` = 784 cycles when bytes come every cycle; an
    n-byte message ``784 * blocks(n)`` cycles from the first beat taken to ``o_digest.valid``
    (:func:`digest_cycles`). Each cycle in which the core is ready and no beat is offered delays
    the digest by one cycle; the count never depends on the data.
    """

    i_stream: In(stream.Signature(MESSAGE_BYTE))
    o_digest: Out(stream.Signature(256))

    def elaborate(self, platform):
        m = Module()

        # K[0..63], then the IV in reverse order (shifted into a..h, H[7] first).
        m.submodules.k_rom = k_rom = Memory(
            shape=32,
            depth=72,
            init=[*ROUND_CONSTANTS, *reversed(IV)],
            attrs={"ram_style": "block"},
        )
        k_read = k_rom.read_port()
        m.submodules.ram = ram = Memory(shape=32, depth=32, init=[], attrs={"ram_style": "block"})
        r_port = ram.read_port()
        w_port = ram.write_port()
        rd = r_port.data

        gather = Signal(24)
        pos = Signal(6)
        count = Signal(61)
        ended = Signal()
        marker = Signal()
        final = Signal()
        t = Signal(6)
        step = Signal(4)  # micro-step within a round, a final-addition or IV-load step
        s = [Signal(32, name=f"s{name}", reset_less=True) for name in "abcdefgh"]
        a, b, c, d, e, f, g, hh = s
        acc = Signal(32, reset_less=True)

        # The shared adder: sum = (acc or 0) + operand.
        use_acc = Signal()
        operand = Signal(32)
        total = Signal(32)
        m.d.comb += total.eq(Cat(acc & use_acc.replicate(32)) + operand)
        shift = Signal()  # a = total, the rest move down one
        with m.If(shift):
            m.d.sync += [a.eq(total), *(s[i].eq(s[i - 1]) for i in range(1, 8))]

        m.d.comb += self.o_digest.payload.eq(Cat(*reversed(s)))

        # Filling, as in the fast core.
        shift_in = Signal()
        byte = Signal(8)
        with m.If(shift_in):
            m.d.sync += [gather.eq(Cat(byte, gather[:-8])), pos.eq(pos + 1)]
            with m.If(pos[:2] == 3):
                m.d.comb += [
                    w_port.en.eq(1),
                    w_port.addr.eq(pos[2:]),
                    w_port.data.eq(Cat(byte, gather)),
                ]

        bit_length = Cat(Const(0, 3), count)
        pad_byte = Signal(8)
        with m.If(~marker):
            m.d.comb += pad_byte.eq(0x80)
        with m.Elif(final & (pos[3:] == 0b111)):
            m.d.comb += pad_byte.eq(bit_length.word_select(~pos[:3], 8))

        sigma0 = _rotr(rd, 7) ^ _rotr(rd, 18) ^ (rd >> 3)
        sigma1 = _rotr(rd, 17) ^ _rotr(rd, 19) ^ (rd >> 10)
        big_sigma0 = _rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)
        big_sigma1 = _rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)
        choose = (e & f) ^ (~e & g)
        majority = (a & b) ^ (a & c) ^ (b & c)
        early = t[4:] == 0  # t < 16: the word comes from the message

        with m.FSM():
            with m.State("INIT"):
                # Step j presents IV address j; steps 1..8 shift in what step j - 1 read.
                m.d.comb += k_read.addr.eq(64 + step[:3])
                m.d.sync += step.eq(step + 1)
                with m.If(step != 0):
                    m.d.comb += [
                        operand.eq(k_read.data),
                        shift.eq(1),
                        w_port.en.eq(1),
                        w_port.addr.eq(_H_BASE + 8 - step),
                        w_port.data.eq(total),
                    ]
                with m.If(step == INIT_CYCLES - 1):
                    m.d.sync += step.eq(0)
                    m.next = "FILL"

            with m.State("FILL"):
                m.d.comb += self.i_stream.ready.eq(1)
                beat = self.i_stream.payload
                with m.If(self.i_stream.valid):
                    m.d.comb += shift_in.eq(1)
                    with m.If(beat.empty):
                        m.d.comb += byte.eq(0x80)
                        m.d.sync += [ended.eq(1), marker.eq(1), final.eq(pos <= 55)]
                    with m.Else():
                        m.d.comb += byte.eq(beat.data)
                        m.d.sync += [count.eq(count + 1), ended.eq(beat.last)]
                    with m.If(pos == 63):
                        m.next = "ROUNDS"
                    with m.Elif(beat.empty | beat.last):
                        m.next = "PAD"

            with m.State("PAD"):
                m.d.comb += [shift_in.eq(1), byte.eq(pad_byte)]
                with m.If(~marker):
                    m.d.sync += [marker.eq(1), final.eq(pos <= 55)]
                with m.If(pos == 63):
                    m.next = "ROUNDS"

            with m.State("ROUNDS"):
                m.d.comb += k_read.addr.eq(t)
                m.d.sync += step.eq(step + 1)
                with m.Switch(step):
                    with m.Case(0):
                        m.d.comb += r_port.addr.eq((t - 7)[:4])
                        with m.If(~early):
                            m.d.comb += operand.eq(sigma1)
                    with m.Case(1):
                        m.d.comb += [r_port.addr.eq((t - 15)[:4]), use_acc.eq(1)]
                        with m.If(~early):
                            m.d.comb += operand.eq(rd)
                    with m.Case(2):
                        m.d.comb += [r_port.addr.eq(t[:4]), use_acc.eq(1)]
                        with m.If(~early):
                            m.d.comb += operand.eq(sigma0)
                    with m.Case(3):
                        m.d.comb += [
                            use_acc.eq(1),
                            operand.eq(rd),
                            w_port.en.eq(1),
                            w_port.addr.eq(t[:4]),
                            w_port.data.eq(total),
                        ]
                    with m.Case(4):
                        m.d.comb += [use_acc.eq(1), operand.eq(k_read.data)]
                    with m.Case(5):
                        m.d.comb += [use_acc.eq(1), operand.eq(hh)]
                    with m.Case(6):
                        m.d.comb += [use_acc.eq(1), operand.eq(big_sigma1)]
                    with m.Case(7):
                        m.d.comb += [use_acc.eq(1), operand.eq(choose)]
                    with m.Case(8):
                        m.d.comb += [use_acc.eq(1), operand.eq(d)]
                        m.d.sync += d.eq(total)
                    with m.Case(9):
                        m.d.comb += [use_acc.eq(1), operand.eq(big_sigma0)]
                    with m.Case(_STEP_LAST):
                        m.d.comb += [
                            use_acc.eq(1),
                            operand.eq(majority),
                            shift.eq(1),
                            r_port.addr.eq((t - 1)[:4]),  # W[t + 1 - 2] for the next round
                        ]
                        m.d.sync += [step.eq(0), t.eq(t + 1)]
                        with m.If(t == 63):
                            m.next = "ADD"
                with m.If(step != 8):
                    m.d.sync += acc.eq(total)

            with m.State("ADD"):
                # Word j (H[7 - j]): acc = h, then H + acc shifted in and written back.
                word = _H_BASE + 7 - step[1:4]
                m.d.sync += step.eq(step + 1)
                with m.If(~step[0]):
                    m.d.comb += [operand.eq(hh), r_port.addr.eq(word)]
                    m.d.sync += acc.eq(total)
                with m.Else():
                    m.d.comb += [
                        use_acc.eq(1),
                        operand.eq(rd),
                        shift.eq(1),
                        w_port.en.eq(1),
                        w_port.addr.eq(word),
                        w_port.data.eq(total),
                    ]
                with m.If(step == FINAL_CYCLES - 1):
                    m.d.sync += step.eq(0)
                    with m.If(final):
                        m.next = "DONE"
                    with m.Elif(ended):
                        m.d.sync += final.eq(marker)
                        m.next = "PAD"
                    with m.Else():
                        m.next = "FILL"

            with m.State("DONE"):
                m.d.comb += self.o_digest.valid.eq(1)

        return ResetInserter({"sync": self.o_digest.valid & self.o_digest.ready})(m)
