"""SHA-256 (FIPS 180-4), iterative: one round per clock cycle, padding done inside.

The core takes a message as a byte stream and returns its 32-byte digest. Its 16-word message
window doubles as the block buffer: bytes gather into big-endian words, which are written into
the window; once the 64-byte block is in, the 64 rounds run, each computing the next schedule
word on the fly and writing it over the oldest. The window lives in block RAM (a circular
buffer of 16 words, in two copies for two read ports) and so do the round constants (a 64 x
32-bit ROM); all their reads are synchronous, addressed one round ahead. The chaining value is
added back one word per cycle over the 8 cycles after the last round, with a single 32-bit
adder, while the next block is already being filled.

Area, iCE40UP5K (Yosys ``synth_ice40``, nextpnr): about 1,700 logic cells and 6 of the 30
SB_RAM40_4K block RAMs, 26 MHz; the block RAMs save about 300 logic cells against a window of
flip-flops.

The timing depends only on the message length and on when the stream offers bytes and takes
digests, never on the data: the core has no data-dependent branch.
"""

from amaranth.hdl import Cat, Const, Module, Mux, ResetInserter, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

__all__ = [
    "BLOCK_CYCLES",
    "FINAL_CYCLES",
    "IV",
    "MESSAGE_BYTE",
    "ROUND_CONSTANTS",
    "SHA256",
    "blocks",
    "digest_cycles",
    "shift_digest",
]

#: One beat of a message stream. ``data`` is a message byte; ``last`` marks the final byte of the
#: message; ``empty`` marks a beat that carries no byte and ends the message (its ``data`` and
#: ``last`` are not looked at). A message of n bytes is either n beats, the last with ``last``
#: set, or n beats without ``last`` followed by one ``empty`` beat; the empty message is a single
#: ``empty`` beat.
MESSAGE_BYTE = data.StructLayout({"data": 8, "last": 1, "empty": 1})

#: Clock cycles per 64-byte block when bytes arrive every cycle: 64 to take the bytes (message or
#: padding), 64 rounds.
BLOCK_CYCLES = 128

#: Cycles from the end of the last round to ``o_digest.valid``: the chaining value is added back
#: one word per cycle.
FINAL_CYCLES = 8


def _first_primes(count: int) -> list[int]:
    primes: list[int] = []
    candidate = 2
    while len(primes) < count:
        if all(candidate % p for p in primes):
            primes.append(candidate)
        candidate += 1
    return primes


def _iroot(value: int, degree: int) -> int:
    # The largest r with r ** degree <= value (bisection: exact for integers of any size).
    low, high = 0, 1 << (value.bit_length() // degree + 1)
    while low < high:
        mid = (low + high + 1) // 2
        if mid**degree <= value:
            low = mid
        else:
            high = mid - 1
    return low


#: The first 32 bits of the fractional parts of the cube roots of the first 64 primes
#: (FIPS 180-4, section 4.2.2).
ROUND_CONSTANTS = tuple(_iroot(p << 96, 3) & 0xFFFF_FFFF for p in _first_primes(64))

#: The initial hash value: the first 32 bits of the fractional parts of the square roots of the
#: first 8 primes (FIPS 180-4, section 5.3.3).
IV = tuple(_iroot(p << 64, 2) & 0xFFFF_FFFF for p in _first_primes(8))


def blocks(length: int) -> int:
    """The number of 64-byte blocks SHA-256 hashes for a message of *length* bytes (with the
    ``0x80`` marker and the 8-byte bit length of the padding)."""
    return (length + 9 + 63) // 64


def digest_cycles(length: int) -> int:
    """Clock cycles from the first beat of a *length*-byte message to ``o_digest.valid``, when
    every beat is offered as soon as the core is ready.

    The count starts at the clock edge that takes the first beat (cycle 0) and ends at the first
    edge where ``o_digest.valid`` is high, so ``o_digest.valid`` is high ``digest_cycles(n)``
    cycles after the first beat is taken.
    """
    return BLOCK_CYCLES * blocks(length) + FINAL_CYCLES


def _rotr(value, amount: int):
    return value.rotate_right(amount)


def shift_digest(words):
    """The digest held in *words* (eight 32-bit signals, H[0] first) rotated one byte toward
    H[0]'s top, as eight words: what ``digest_shift`` does, in both SHA-256 cores."""
    rotated = Cat(*reversed(words)).rotate_left(8)
    return [rotated.word_select(7 - i, 32) for i in range(len(words))]


def message_states(m, i_stream, *, shift_in, byte, pad_byte, pos, count, ended, marker, final):
    """The FILL and PAD states of a SHA-256 core's FSM (call inside ``with m.FSM()``): take
    message bytes from *i_stream* into the block (``shift_in``, ``byte``), count them, put the
    0x80 marker after the last one and pad to byte 63 with *pad_byte*; both go to ``ROUNDS``
    when the block is full. ``final`` says the length fits this block (``pos <= 55``)."""
    with m.State("FILL"):
        m.d.comb += i_stream.ready.eq(1)
        beat = i_stream.payload
        with m.If(i_stream.valid):
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


def next_block(m, *, final, ended, marker):
    """Where a SHA-256 core's FSM goes after a compressed block: ``DONE`` after the last one,
    ``PAD`` when the message ended but its length did not fit (``final`` from the marker),
    else ``FILL`` for more message bytes."""
    with m.If(final):
        m.next = "DONE"
    with m.Elif(ended):
        m.d.sync += final.eq(marker)
        m.next = "PAD"
    with m.Else():
        m.next = "FILL"


class SHA256(wiring.Component):
    """SHA-256 of a byte stream, one round per clock cycle.

    Attributes
    ----------
    i_stream : In(stream.Signature(MESSAGE_BYTE))
        The message, one byte per transfer (see :data:`MESSAGE_BYTE` for ``last`` and ``empty``,
        and how to send the empty message). ``ready`` is high while the core fills a block, one
        byte a cycle; it is low during the 64 rounds of each block, and from the end of the
        message (the core adds the padding itself) until the digest has been taken.
    o_digest : Out(stream.Signature(256))
        The digest: byte 0 of the digest in bits 255..248, so the payload read as an integer is
        ``int.from_bytes(hashlib.sha256(message).digest(), "big")``. ``valid`` rises
        :data:`FINAL_CYCLES` cycles after the last round of the last block and stays high, with
        the payload stable, until ``ready``; the core takes the first byte of the next message
        on the cycle after that. While ``valid`` is low the payload shows the chaining value
        being computed (no gate in front of it, to save 256 LUTs); a consumer that must not
        show it, such as :class:`~ropuf.gateware.crypto.hmac_sha256.HMACSHA256`, gates it itself.
    digest_shift : In(1)
        Read the digest a byte at a time, without a register of one's own: in a cycle with
        ``o_digest.valid`` and ``digest_shift`` high, the payload rotates one byte toward the
        top (byte 1 becomes byte 0, byte 0 goes to the bottom), so that bits 255..248 show byte
        ``j`` after ``j`` shifts (:func:`shift_digest`). Low when unused.

    Notes
    -----
    Timing, when the source offers each beat as soon as ``ready`` allows:

    * a 64-byte block takes :data:`BLOCK_CYCLES` = 128 cycles: 64 cycles filling the window
      (message bytes, or padding bytes that the core makes itself, one per cycle), then 64
      rounds;
    * an n-byte message takes ``128 * blocks(n) + 8`` cycles from the first beat taken to
      ``o_digest.valid`` (:func:`digest_cycles`), where ``blocks(n) = ceil((n + 9) / 64)``;
      a 32-byte message: 136 cycles;
    * latency from the last message byte to the digest: the rest of its block plus the padding
      block if the 9 bytes of padding did not fit, i.e. ``digest_cycles(n) - d``, where ``d`` is
      the cycle the last byte was taken: ``128 * ((n - 1) // 64) + (n - 1) % 64`` (n >= 1);
      for a 32-byte message, 105 cycles.

    Each cycle in which the core is ready and no beat is offered delays the digest by one
    cycle. The cycle count depends only on the message length and on those gaps, never on the
    data. The message length is counted in 61 bits: any length SHA-256 defines.

    After a reset, and after each digest is taken, the core loads the IV in its first cycle;
    it takes bytes in that cycle already.
    """

    i_stream: In(stream.Signature(MESSAGE_BYTE))
    o_digest: Out(stream.Signature(256))
    digest_shift: In(1)

    def elaborate(self, platform):
        m = Module()

        m.submodules.k_rom = k_rom = Memory(
            shape=32, depth=64, init=ROUND_CONSTANTS, attrs={"ram_style": "block"}
        )
        k_read = k_rom.read_port()

        gather = Signal(24)  # the first three bytes of the word being filled, newest lowest
        pos = Signal(6)  # byte position in the block being filled
        count = Signal(61)  # message bytes so far
        ended = Signal()  # every message byte is in; padding follows
        marker = Signal()  # the 0x80 padding marker is in
        final = Signal()  # the block being filled (or hashed) is the last one
        t = Signal(6)  # round
        fin = Signal(range(FINAL_CYCLES + 1))  # words of the chaining value still to add
        # The chaining value H and the working variables a..h. They get the IV by a load in the
        # cycle after a reset (or after a digest is taken), not as their reset value: iCE40
        # flip-flops power up at 0, and a non-zero reset value costs an inverter per bit.
        h = [Signal(32, name=f"h{i}", reset_less=True) for i in range(8)]
        s = [Signal(32, name=f"s{name}", reset_less=True) for name in "abcdefgh"]
        primed = Signal()  # H and s hold the IV or a value derived from it

        # The 16-word window of the message schedule. Round t needs W[t], W[t + 1], W[t + 9] and
        # W[t + 14], and makes W[t + 16]. The window is a circular buffer in block RAM (W[i] at
        # address i % 16, W[t + 16] written over W[t]), in two copies for two read ports:
        # W[t + 1] and W[t + 9]. W[t] is W[t + 1] of the round before, kept in a register, and
        # W[t + 14] is the word made two rounds before, kept in a two-word delay line (the
        # delay line and W[0] are loaded as the block is filled). The reads are synchronous:
        # their addresses are those of the next round (round 0 while filling).
        next_t = Signal(6)
        w_addr = Signal(4)
        w_data = Signal(32)
        w_en = Signal()
        w_t = Signal(32)
        w_t14 = Signal(32)  # the delay line: W[t + 14] ...
        w_t15 = Signal(32)  # ... and W[t + 15]
        w_read_data = []
        for tap in (1, 9):
            w_ram = Memory(shape=32, depth=16, init=[], attrs={"ram_style": "block"})
            m.submodules[f"w_ram_{tap}"] = w_ram
            w_write = w_ram.write_port()
            w_read = w_ram.read_port()
            m.d.comb += [
                w_write.addr.eq(w_addr),
                w_write.data.eq(w_data),
                w_write.en.eq(w_en),
                w_read.addr.eq(next_t + tap),
            ]
            w_read_data.append(w_read.data)
        w_t1, w_t9 = w_read_data
        m.d.comb += k_read.addr.eq(next_t)
        with m.If(w_en):
            m.d.sync += [w_t14.eq(w_t15), w_t15.eq(w_data)]

        # Filling: one byte (from the message or the padding) a cycle; every fourth completes a
        # big-endian word W[pos // 4], written to the window.
        shift_in = Signal()
        byte = Signal(8)
        with m.If(shift_in):
            m.d.sync += [gather.eq(Cat(byte, gather[:-8])), pos.eq(pos + 1)]
            with m.If(pos[:2] == 3):
                m.d.comb += [w_en.eq(1), w_addr.eq(pos[2:]), w_data.eq(Cat(byte, gather))]
                with m.If(pos[2:] == 0):
                    m.d.sync += w_t.eq(w_data)

        # Padding byte at `pos`: the marker, then zeros, then the bit length, big-endian, in
        # bytes 56..63 of the last block.
        bit_length = Cat(Const(0, 3), count)
        pad_byte = Signal(8)
        with m.If(~marker):
            m.d.comb += pad_byte.eq(0x80)
        with m.Elif(final & (pos[3:] == 0b111)):
            m.d.comb += pad_byte.eq(bit_length.word_select(~pos[:3], 8))

        # Rounds.
        a, b, c, d, e, f, g, hh = s
        t1 = Signal(32)
        t2 = Signal(32)
        next_w = Signal(32)
        m.d.comb += [
            t1.eq(
                hh
                + (_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25))
                + ((e & f) ^ (~e & g))
                + k_read.data
                + w_t
            ),
            t2.eq((_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))),
            next_w.eq(
                (_rotr(w_t14, 17) ^ _rotr(w_t14, 19) ^ (w_t14 >> 10))
                + w_t9
                + (_rotr(w_t1, 7) ^ _rotr(w_t1, 18) ^ (w_t1 >> 3))
                + w_t
            ),
        ]

        # The chaining value, H[0] in the top bits: the digest once `valid` says so.
        m.d.comb += self.o_digest.payload.eq(Cat(*reversed(h)))

        # After the last round of a block: H[i] += s[i], a word a cycle. H and s rotate together
        # (s in the same direction as in a round), the sum of the top words entering at the
        # bottom of both, so after 8 steps H[i] and s[i] hold the new chaining value.
        fin_sum = Signal(32)
        m.d.comb += fin_sum.eq(h[7] + s[7])
        with m.If(fin != 0):
            m.d.sync += [
                fin.eq(fin - 1),
                s[0].eq(fin_sum),
                *(s[i].eq(s[i - 1]) for i in range(1, 8)),
            ]
        # H moves for the addition and for digest_shift (one enable; byte_shift only in DONE).
        byte_shift = Signal()
        with m.If((fin != 0) | byte_shift):
            rotated = shift_digest(h)
            m.d.sync += [
                h[0].eq(Mux(byte_shift, rotated[0], fin_sum)),
                *(h[i].eq(Mux(byte_shift, rotated[i], h[i - 1])) for i in range(1, 8)),
            ]

        with m.FSM():
            message_states(
                m, self.i_stream, shift_in=shift_in, byte=byte, pad_byte=pad_byte, pos=pos,
                count=count, ended=ended, marker=marker, final=final,
            )  # fmt: skip

            with m.State("ROUNDS"):
                m.d.comb += [
                    next_t.eq(t + 1),  # K[t + 1] and W[t + 1...] are read for the next round
                    w_en.eq(1),
                    w_addr.eq(t[:4]),
                    w_data.eq(next_w),
                ]
                m.d.sync += [
                    a.eq(t1 + t2),
                    b.eq(a),
                    c.eq(b),
                    d.eq(c),
                    e.eq(d + t1),
                    f.eq(e),
                    g.eq(f),
                    hh.eq(g),
                    w_t.eq(w_t1),
                    t.eq(t + 1),
                ]
                with m.If(t == 63):
                    m.d.sync += fin.eq(FINAL_CYCLES)
                    next_block(m, final=final, ended=ended, marker=marker)

            with m.State("DONE"):
                m.d.comb += self.o_digest.valid.eq(fin == 0)
                m.d.comb += byte_shift.eq(self.digest_shift & (fin == 0))

        m.d.sync += primed.eq(1)
        with m.If(~primed):
            m.d.sync += [
                *(reg.eq(iv) for reg, iv in zip(h, IV, strict=True)),
                *(reg.eq(iv) for reg, iv in zip(s, IV, strict=True)),
            ]

        # Taking the digest resets the core to its initial state (FILL, counts at zero, H and s
        # loaded with the IV on the next cycle): the flip-flops' own synchronous reset does it.
        return ResetInserter({"sync": self.o_digest.valid & self.o_digest.ready})(m)
