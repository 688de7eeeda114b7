"""Compact key-reconstruction decoder: one GF(2^m) multiplier, rings in block RAM, constant time.

Same interface and arithmetic as :class:`ropuf.gateware.key.decoder.BCHDecoder` (and so bit for
bit the host reference :mod:`ropuf.host.fuzzy`, beyond ``t`` errors included), built for area:
a single general GF(2^m) multiplier serves every step, and the syndromes and polynomials live
in rotating buffers in block RAM.

1. **Inner repetition** as in the fast decoder.
2. **Syndromes**, serially: each code bit takes ``2t`` cycles, ``S_j <- S_j * a + bit`` with the
   running constant ``a = alpha^j`` (``a <- a * alpha``, a shift and a few XORs), the ``2t``
   syndromes rotating past the multiplier. ``i_bits.ready`` is low during those cycles.
3. **Berlekamp-Massey**, inversionless, all ``2t`` iterations, each ``3(t + 1)`` cycles:
   ``t + 1`` for the discrepancy ``sum_i Lambda_i S_(r+1-i)`` (``Lambda`` rotates from its top
   coefficient down while the syndromes rotate up), then two per coefficient for
   ``Lambda_i <- gamma Lambda_i + delta B_(i-1)``. ``Lambda`` never has degree above ``r``, so
   the terms that meet a wrapped-around syndrome are zero.
4. **Chien search** over every power ``beta = alpha^s``, ``s = 1 .. 2^m - 1``, of the full-length
   code, ``t + 1`` cycles each: ``Lambda_j <- Lambda_j * alpha^j`` in place (the running constant
   counts down from ``alpha^t`` by ``alpha^-1``) and the sum of the products is the locator at
   ``beta``. Powers of the shortened-away positions are evaluated and ignored, so no second
   constant is needed to skip them.

No step depends on the data for its length: the cycle count is :func:`compact_decode_cycles`
whatever the error pattern.

Storage: the ``2t`` syndromes, ``Lambda`` and ``B`` are rings in three block RAMs read one cycle
ahead, and the message (the received bits, flipped at the roots) is in a fourth, a byte a word
written a bit lane at a time and read out a byte at a time: no ``k``-bit register. The rings
are never cleared (the first code bit starts from zero syndromes and the first iteration of
Berlekamp-Massey reads the initial polynomials instead of the RAM). Area for BCH(192, 136, t=7)
(benchmarks/bench_key_engine.py, synth_ice40 -noflatten): 387 SB_LUT4, 70 flip-flops, 4 EBRs
(with a ``k``-bit message register: 470, 206, 3); 2,397 cycles after the last input bit
(the fast decoder: 1,052 SB_LUT4, 1,760 cycles).
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib.memory import Memory

from ropuf.spec.code_params import CodeParams

from .decoder import BCHDecoder, _const_mul, _parity

__all__ = [
    "NO_COLLISION_MEMORIES",
    "CompactBCHDecoder",
    "compact_decode_cycles",
    "compact_input_stall",
]

#: The decoder's block RAMs that never read an address in the cycle it is written (the
#: syndrome ring reads the next slot, Lambda and B read ahead of their writes, the message is
#: not read in a write cycle), by name, with the collision mask of their write ports: a
#: synthesis flow may drop Yosys's read-during-write bypass for them (``setparam -set
#: COLLISION_X_MASK``; :mod:`ropuf.boards.build` does), which Amaranth's "old data" read ports
#: otherwise cost in the fabric.
NO_COLLISION_MEMORIES = {"synd_mem": 1, "lam_mem": 1, "b_mem": 1, "msg_mem": 255}

#: Yosys keeps even these few-word rings in block RAM (else it builds them from flip-flops).
_BLOCK_RAM = {"ram_style": "block"}


def compact_input_stall(params: CodeParams) -> int:
    """Cycles ``i_bits.ready`` stays low after the last beat of each code bit: ``2t``."""
    return 2 * params.t


def compact_decode_cycles(params: CodeParams) -> int:
    """Cycles from the edge that takes the last input beat to the first edge with
    ``o_result.valid`` high: ``2t`` (last syndrome update) + ``t`` (syndrome alignment) +
    ``2t * 3(t + 1)`` (Berlekamp-Massey) + ``(2^m - 1)(t + 1)`` (Chien)."""
    t = params.t
    return 2 * t + t + 2 * t * 3 * (t + 1) + params.code.field.order * (t + 1)


def _gf_mul_compact(field, a, b):
    """General GF(2^m) product: the ``2m - 1`` coefficients of the polynomial product, then
    the reduction (``x^j`` is ``alpha^j``), about two thirds of the LUTs of the direct form."""
    m = field.m
    coefficients = []
    for degree in range(2 * m - 1):
        terms = [a[i] & b[degree - i] for i in range(m) if 0 <= degree - i < m]
        coefficients.append(_parity(terms))
    return Cat(
        *[
            _parity([c for degree, c in enumerate(coefficients) if (field.exp[degree] >> bit) & 1])
            for bit in range(m)
        ]
    )


class CompactBCHDecoder(BCHDecoder):
    """Soft repetition + BCH decoder on one GF(2^m) multiplier, with a constant cycle count.

    Parameters
    ----------
    params : CodeParams
        Code parameters (repetition length, BCH field, ``t``, ``n``, soft value width).

    Attributes
    ----------
    i_bits : In(stream.Signature(SoftBitLayout(params.soft_width)))
        The ``n * rep`` selected response bits in helper-data order. ``ready`` is high from
        reset and after a result is taken, except for :func:`compact_input_stall` cycles after
        the last beat of every code bit, and low while decoding.
    o_result : Out(stream.Signature(ResultLayout))
        The corrected message, a byte at a time, and the failure flag, as
        :class:`BCHDecoder`'s. ``valid`` rises :func:`compact_decode_cycles` cycles after the
        last input beat is taken and stays high, the payload stable but for ``message_shift``,
        until ``ready``.
    message_shift : In(1)
        As :class:`BCHDecoder`'s: while ``o_result.valid``, each cycle with ``message_shift``
        moves ``o_result.payload.byte`` on to the next byte of the message.

    Raises
    ------
    TypeError
        *params* is not a CodeParams.
    """

    def elaborate(self, platform):
        p = self._params
        field = p.code.field
        m_bits, t, n, k, rep, order = field.m, p.t, p.n, p.k, p.rep, field.order
        m = Module()

        acc_width = p.soft_width + 2 + max(rep - 1, 1).bit_length()
        acc = Signal(signed(acc_width))
        rep_count = Signal(range(rep + 1))
        # One position counter: the code bit being taken (0 .. n - 1), then in the Chien search
        # the code position of beta = alpha^s, negative over the shortened-away powers.
        index = Signal(range(-(order - n), n))
        bit = Signal()

        length = Signal(range(2 * t + 2))
        gamma = Signal(m_bits, init=1)
        delta = Signal(m_bits)
        partial = Signal(m_bits)
        const = Signal(m_bits, init=field.pow_alpha(1))
        step = Signal(range(2 * t + 1))
        step_next = Signal(range(2 * t + 1))
        sub = Signal()
        r = Signal(range(2 * t + 1))
        roots = Signal(range(n + 1))
        m.d.comb += step_next.eq(step)
        m.d.sync += step.eq(step_next)

        # Three rings in block RAM, each with a registered read one cycle ahead.
        # Syndromes: a circular buffer of 2t at pointer `sptr`, in order S_1 .. S_2t after the
        # syndrome phase; rotating writes the tail into the head's slot.
        m.submodules.synd_mem = synd_mem = Memory(
            shape=m_bits, depth=2 * t, init=[], attrs=_BLOCK_RAM
        )
        synd_rd = synd_mem.read_port()
        synd_wr = synd_mem.write_port()
        sptr = Signal(range(2 * t))
        synd_rot = Signal()
        sptr_next = Signal(range(2 * t))
        m.d.comb += [
            sptr_next.eq(Mux(synd_rot, Mux(sptr == 2 * t - 1, 0, sptr + 1), sptr)),
            synd_rd.addr.eq(sptr_next),
            synd_wr.addr.eq(sptr),
            synd_wr.en.eq(synd_rot),
        ]
        m.d.sync += sptr.eq(sptr_next)
        synd_head = synd_rd.data
        synd_wr_data = synd_wr.data
        m.d.comb += synd_wr_data.eq(synd_head)

        # Lambda and B: Lambda_(t - a) at address a; each phase walks the addresses with `step`.
        # Neither is cleared: in the first iteration (r = 0) their reads are replaced by the
        # initial polynomials, and that iteration rewrites every coefficient.
        m.submodules.lam_mem = lam_mem = Memory(
            shape=m_bits, depth=t + 1, init=[], attrs=_BLOCK_RAM
        )
        lam_rd = lam_mem.read_port()
        lam_wr = lam_mem.write_port()
        m.submodules.b_mem = b_mem = Memory(shape=m_bits, depth=t + 1, init=[], attrs=_BLOCK_RAM)
        b_rd = b_mem.read_port()
        b_wr = b_mem.write_port()
        first = Signal()
        lam_head = Signal(m_bits)
        b_below = Signal(m_bits)  # B_(i-1) while Lambda_i is at the head
        m.d.comb += [
            first.eq(r == 0),
            lam_rd.addr.eq(step_next),
            lam_wr.addr.eq(step),
            b_rd.addr.eq(step + 1),
            b_wr.addr.eq(step),
            lam_head.eq(Mux(first, step == t, lam_rd.data)),
            b_below.eq(Mux(step == t, 0, Mux(first, step == t - 1, b_rd.data))),
        ]

        # The message in block RAM, a byte a word (message bit i is bit 7 - i % 8 of byte
        # i // 8), one bit lane written at a time: the received bit as it is taken, flipped
        # in the Chien search at a root. The read, registered, serves the flip (the byte of
        # `index`) and the output (`index` counts the bytes read out). The padding bits of the
        # last byte are never written: zero from configuration.
        m.submodules.msg_mem = msg_mem = Memory(
            shape=8, depth=(k + 7) // 8, init=[], attrs=_BLOCK_RAM
        )
        msg_rd = msg_mem.read_port()
        msg_wr = msg_mem.write_port(granularity=1)
        msg_lane = Signal(8)  # one-hot: the lane of message bit `index`
        msg_write = Signal()
        msg_store = Signal()  # msg_write at a message position
        m.d.comb += [
            msg_rd.addr.eq(index[3:]),
            msg_wr.addr.eq(index[3:]),
            msg_lane.eq(1 << ~index[:3]),
            msg_store.eq(msg_write & (index < k)),
            msg_wr.en.eq(Mux(msg_store, msg_lane, 0)),
            # No read in a write cycle: no collision for Yosys to emulate in the fabric.
            msg_rd.en.eq(~msg_store),
        ]

        mul_x = Signal(m_bits)
        mul_y = Signal(m_bits)
        product = Signal(m_bits)
        m.d.comb += product.eq(_gf_mul_compact(field, mul_x, mul_y))

        times_alpha = _const_mul(field, field.pow_alpha(1), const)
        over_alpha = _const_mul(field, field.pow_alpha(-1), const)

        beat = self.i_bits.payload
        code_bit = Signal()
        last_beat = Signal()
        if rep == 1:
            # 2y - 1 > 0 exactly when y > 0; the offset negates it.
            m.d.comb += [code_bit.eq((beat.soft > 0) ^ beat.offset), last_beat.eq(1)]
        else:
            odd = Signal(signed(acc_width))
            aligned = Signal(signed(acc_width))
            total = Signal(signed(acc_width))
            m.d.comb += [
                odd.eq(beat.soft * 2 - 1),
                aligned.eq(Mux(beat.offset, -odd, odd)),
                total.eq(acc + aligned),
                code_bit.eq(total > 0),
                last_beat.eq(rep_count == rep - 1),
            ]

        # Outside the FSM: a payload gated by the state would cost a LUT per bit.
        m.d.comb += [
            self.o_result.payload.byte.eq(msg_rd.data),
            self.o_result.payload.failed.eq((length > t) | (roots != length)),
        ]

        with m.FSM():
            with m.State("INPUT"):
                m.d.comb += self.i_bits.ready.eq(1)
                with m.If(self.i_bits.valid):
                    with m.If(last_beat):
                        m.d.sync += bit.eq(code_bit)
                        if rep > 1:
                            m.d.sync += [acc.eq(0), rep_count.eq(0)]
                        m.d.comb += [msg_write.eq(1), msg_wr.data.eq(code_bit.replicate(8))]
                        m.next = "SYNDROME"
                    if rep > 1:
                        with m.Else():
                            m.d.sync += [acc.eq(total), rep_count.eq(rep_count + 1)]

            with m.State("SYNDROME"):
                # The first code bit starts from zero syndromes (the buffer is never cleared).
                m.d.comb += [
                    mul_x.eq(Mux(index == 0, 0, synd_head)),
                    mul_y.eq(const),
                    synd_rot.eq(1),
                    synd_wr_data.eq(product ^ bit),
                    step_next.eq(step + 1),
                ]
                m.d.sync += const.eq(times_alpha)
                with m.If(step == 2 * t - 1):
                    m.d.comb += step_next.eq(0)
                    m.d.sync += [const.eq(field.pow_alpha(1)), index.eq(index + 1)]
                    with m.If(index == n - 1):
                        m.d.sync += index.eq(-(order - n))
                        m.next = "ALIGN"
                    with m.Else():
                        m.next = "INPUT"

            with m.State("ALIGN"):
                # Head to S_(1-t) = S_(t+1): the syndrome paired with Lambda_t when r = 0.
                m.d.comb += [synd_rot.eq(1), step_next.eq(step + 1)]
                with m.If(step == t - 1):
                    m.d.comb += step_next.eq(0)
                    m.next = "DELTA"

            with m.State("DELTA"):
                m.d.comb += [
                    mul_x.eq(lam_head),
                    mul_y.eq(synd_head),
                    synd_rot.eq(1),
                    step_next.eq(step + 1),
                ]
                m.d.sync += delta.eq(delta ^ product)
                with m.If(step == t):
                    m.d.comb += step_next.eq(0)
                    m.next = "UPDATE"

            with m.State("UPDATE"):
                grow = Signal()
                m.d.comb += grow.eq((delta != 0) & (length * 2 <= r))
                with m.If(sub == 0):
                    m.d.comb += [mul_x.eq(lam_head), mul_y.eq(gamma)]
                    m.d.sync += [partial.eq(product), sub.eq(1)]
                with m.Else():
                    m.d.comb += [
                        mul_x.eq(delta),
                        mul_y.eq(b_below),
                        lam_wr.en.eq(1),
                        lam_wr.data.eq(partial ^ product),
                        b_wr.en.eq(1),
                        b_wr.data.eq(Mux(grow, lam_head, b_below)),
                        synd_rot.eq(step != t),
                        step_next.eq(step + 1),
                    ]
                    m.d.sync += sub.eq(0)
                    with m.If(step == t):
                        m.d.comb += step_next.eq(0)
                        m.d.sync += [delta.eq(0), r.eq(r + 1)]
                        with m.If(grow):
                            m.d.sync += [length.eq(r + 1 - length), gamma.eq(delta)]
                        with m.If(r == 2 * t - 1):
                            m.d.sync += const.eq(field.pow_alpha(t))
                            m.next = "CHIEN"
                        with m.Else():
                            m.next = "DELTA"

            with m.State("CHIEN"):
                term = Signal(m_bits)
                root = Signal()
                m.d.comb += [
                    mul_x.eq(lam_head),
                    mul_y.eq(const),
                    term.eq(delta ^ product),
                    root.eq(term == 0),
                    lam_wr.en.eq(1),
                    lam_wr.data.eq(product),
                    step_next.eq(step + 1),
                ]
                m.d.sync += [delta.eq(term), const.eq(over_alpha)]
                with m.If(step == t):
                    m.d.comb += step_next.eq(0)
                    m.d.sync += [delta.eq(0), const.eq(field.pow_alpha(t)), index.eq(index + 1)]
                    with m.If(index >= 0):
                        m.d.sync += roots.eq(roots + root)
                        # The byte of `index` read at the previous cycle, the lane flipped.
                        m.d.comb += [msg_write.eq(root), msg_wr.data.eq(~msg_rd.data)]
                    with m.If(index == n - 1):
                        m.d.sync += index.eq(0)
                        m.d.comb += msg_rd.addr.eq(0)
                        m.next = "DONE"

            with m.State("DONE"):
                # `index` counts the bytes read out; the read address is one ahead.
                m.d.comb += [self.o_result.valid.eq(1), msg_rd.addr.eq(index + self.message_shift)]
                m.d.sync += index.eq(index + self.message_shift)
                with m.If(self.o_result.ready):
                    m.d.sync += [
                        length.eq(0),
                        gamma.eq(1),
                        const.eq(field.pow_alpha(1)),
                        r.eq(0),
                        roots.eq(0),
                        index.eq(0),
                    ]
                    m.next = "INPUT"
        return m
