"""Key-reconstruction decoder: inner soft repetition, outer BCH (Berlekamp-Massey, Chien search).

The decoder takes the selected response bits one per transfer, each as the RO array's signed
soft value with its code-offset bit from the helper data, and returns the corrected BCH message
(the secret the key is derived from) and a failure flag. Its arithmetic is that of the host
reference :mod:`ropuf.host.fuzzy`, step for step, so the two agree bit for bit:

1. **Inner repetition.** ``2 * soft - 1`` (odd, never zero), negated when the offset bit is 1,
   summed over ``rep`` beats; the code bit is 1 when the sum is positive.
2. **Syndromes.** Each code bit updates all ``2t`` syndromes at once,
   ``S_j <- S_j * alpha^j + bit`` (constant multipliers: XOR networks), as the bits arrive.
3. **Berlekamp-Massey**, inversionless, all ``2t`` iterations. ``Lambda`` and ``B`` are
   ``t + 1``-entry rotating registers; each iteration takes ``t + 1`` cycles for the
   discrepancy and ``t + 1`` for the update, on two GF(2^m) multipliers.
4. **Chien search** over every position of the shortened code, ``t + 1`` cycles each
   (``sum_j Lambda_j beta^j`` with a running power of ``beta``), on the same multipliers. The
   message bits are corrected as their positions go by.

No step depends on the data for its length: the cycle count is :func:`decode_cycles` whatever
the error pattern. Area (two multipliers, ``2t`` syndrome registers, ``Lambda``, ``B``, the
message register) is in docs/keygen.md.
"""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ropuf.spec.code_params import CodeParams

__all__ = ["BCHDecoder", "ResultLayout", "SoftBitLayout", "decode_cycles"]


def SoftBitLayout(soft_width: int) -> data.StructLayout:  # noqa: N802
    """One input beat: ``soft`` (signed, the RO array's count difference) and ``offset`` (the
    helper data's code-offset bit for this response bit)."""
    return data.StructLayout({"soft": signed(soft_width), "offset": 1})


#: The result: ``byte``, the message's current byte (see ``message_shift``: byte ``j`` of the
#: MSB-first packing of the message after ``j`` shifts, the last one zero-padded when ``k`` is
#: not a multiple of 8), and ``failed``. No ``k``-bit field: a decoder may keep the message
#: where a byte at a time is all it can show (the compact one: in block RAM).
ResultLayout = data.StructLayout({"byte": 8, "failed": 1})


def decode_cycles(params: CodeParams) -> int:
    """Cycles from the edge that takes the last input beat to the first edge with
    ``o_result.valid`` high: ``2t * 2(t + 1)`` (Berlekamp-Massey) + ``n (t + 1)`` (Chien)."""
    t = params.t
    return 2 * t * 2 * (t + 1) + params.n * (t + 1)


def _parity(bits):
    result = Const(0, 1)
    for bit in bits:
        result = result ^ bit
    return result


def _const_mul(field, constant: int, x):
    rows = field.mul_matrix(constant)
    return Cat(*[_parity([x[i] for i in range(field.m) if (row >> i) & 1]) for row in rows])


def _gf_mul(field, a, b):
    m = field.m
    terms: list[list] = [[] for _ in range(m)]
    for i in range(m):
        for j in range(m):
            product = field.mul(1 << i, 1 << j)
            for bit in range(m):
                if (product >> bit) & 1:
                    terms[bit].append(a[i] & b[j])
    return Cat(*[_parity(t) for t in terms])


class BCHDecoder(wiring.Component):
    """Soft repetition + BCH decoder with a constant cycle count.

    Parameters
    ----------
    params : CodeParams
        Code parameters (repetition length, BCH field, ``t``, ``n``, soft value width).

    Attributes
    ----------
    i_bits : In(stream.Signature(SoftBitLayout(params.soft_width)))
        The ``n * rep`` selected response bits in helper-data order. ``ready`` is high from
        reset, and again from the cycle after a result is taken, until the last beat is taken;
        low while decoding.
    o_result : Out(stream.Signature(ResultLayout))
        The corrected message, a byte at a time, and the failure flag (``L > t`` or fewer
        roots than ``L``: more errors than the code corrects; a miscorrection beyond ``t`` is
        not flagged here, the key-check value catches it). ``valid`` rises
        :func:`decode_cycles` cycles after the last input beat is taken and stays high, the
        payload stable but for ``message_shift``, until ``ready``.
    message_shift : In(1)
        Read the message a byte at a time, without a register of one's own: while
        ``o_result.valid``, ``o_result.payload.byte`` shows byte ``j`` of the MSB-first packing
        of the message (message bit 0 its top bit) after ``j`` cycles with ``message_shift``
        high (the last byte zero-padded when ``k`` is not a multiple of 8). Low when unused.

    Raises
    ------
    TypeError
        *params* is not a CodeParams.
    """

    def __init__(self, params: CodeParams):
        if not isinstance(params, CodeParams):
            raise TypeError(f"Decoder parameters must be a CodeParams, not {params!r}")
        self._params = params
        super().__init__(
            {
                "i_bits": In(stream.Signature(SoftBitLayout(params.soft_width))),
                "o_result": Out(stream.Signature(ResultLayout)),
                "message_shift": In(1),
            }
        )

    @property
    def params(self) -> CodeParams:
        return self._params

    def elaborate(self, platform):
        p = self._params
        field = p.code.field
        m_bits, t, n, k, rep = field.m, p.t, p.n, p.k, p.rep
        m = Module()

        # Inner repetition and syndromes.
        acc_width = p.soft_width + 2 + max(rep - 1, 1).bit_length()
        acc = Signal(signed(acc_width))
        rep_count = Signal(range(rep + 1))
        index = Signal(range(n + 1))
        synd = [Signal(m_bits, name=f"s{j + 1}") for j in range(2 * t)]
        msg = Signal(k)

        # Berlekamp-Massey and Chien registers.
        lam = [Signal(m_bits, name=f"lam{j}", init=int(j == 0)) for j in range(t + 1)]
        bpoly = [Signal(m_bits, name=f"b{j}", init=int(j == 0)) for j in range(t + 1)]
        length = Signal(range(2 * t + 2))
        gamma = Signal(m_bits, init=1)
        delta = Signal(m_bits)
        prev = Signal(m_bits)
        r = Signal(range(2 * t + 1))
        step = Signal(range(t + 1))
        position = Signal(range(n + 1))
        beta0 = field.pow_alpha(-(n - 1))
        beta = Signal(m_bits, init=beta0)
        power = Signal(m_bits, init=1)
        value = Signal(m_bits)
        roots = Signal(range(n + 1))

        mul_a_x = Signal(m_bits)
        mul_a_y = Signal(m_bits)
        mul_b_x = Signal(m_bits)
        mul_b_y = Signal(m_bits)
        mul_a = Signal(m_bits)
        mul_b = Signal(m_bits)
        m.d.comb += [
            mul_a.eq(_gf_mul(field, mul_a_x, mul_a_y)),
            mul_b.eq(_gf_mul(field, mul_b_x, mul_b_y)),
            mul_a_x.eq(lam[0]),
        ]

        def rotate(registers, tail):
            return [registers[j].eq(registers[j + 1]) for j in range(len(registers) - 1)] + [
                registers[-1].eq(tail)
            ]

        beat = self.i_bits.payload
        odd = Signal(signed(acc_width))
        aligned = Signal(signed(acc_width))
        total = Signal(signed(acc_width))
        bit = Signal()
        m.d.comb += [
            odd.eq(beat.soft * 2 - 1),
            aligned.eq(Mux(beat.offset, -odd, odd)),
            total.eq(acc + aligned),
            bit.eq(total > 0),
        ]

        synd_array = Array(synd)
        s_index = Signal(range(2 * t))
        m.d.comb += s_index.eq(r - step)

        with m.FSM():
            with m.State("INPUT"):
                m.d.comb += self.i_bits.ready.eq(1)
                with m.If(self.i_bits.valid):
                    with m.If(rep_count == rep - 1):
                        m.d.sync += [acc.eq(0), rep_count.eq(0), index.eq(index + 1)]
                        m.d.sync += [
                            s.eq(_const_mul(field, field.pow_alpha(j + 1), s) ^ bit)
                            for j, s in enumerate(synd)
                        ]
                        with m.If(index < k):
                            m.d.sync += msg.eq(Cat(bit, msg[:-1]))
                        with m.If(index == n - 1):
                            m.next = "DELTA"
                    with m.Else():
                        m.d.sync += [acc.eq(total), rep_count.eq(rep_count + 1)]

            with m.State("DELTA"):
                with m.If(step <= r):
                    m.d.comb += mul_a_y.eq(synd_array[s_index])
                m.d.sync += [delta.eq(delta ^ mul_a), *rotate(lam, lam[0])]
                m.d.sync += step.eq(step + 1)
                with m.If(step == t):
                    m.d.sync += step.eq(0)
                    m.next = "UPDATE"

            with m.State("UPDATE"):
                grow = Signal()
                m.d.comb += [
                    grow.eq((delta != 0) & (length * 2 <= r)),
                    mul_a_y.eq(gamma),
                    mul_b_x.eq(delta),
                    mul_b_y.eq(prev),
                ]
                m.d.sync += [
                    *rotate(lam, mul_a ^ mul_b),
                    *rotate(bpoly, Mux(grow, lam[0], prev)),
                    prev.eq(bpoly[0]),
                    step.eq(step + 1),
                ]
                with m.If(step == t):
                    m.d.sync += [step.eq(0), prev.eq(0), delta.eq(0), r.eq(r + 1)]
                    with m.If(grow):
                        m.d.sync += [length.eq(r + 1 - length), gamma.eq(delta)]
                    with m.If(r == 2 * t - 1):
                        m.next = "CHIEN"
                    with m.Else():
                        m.next = "DELTA"

            with m.State("CHIEN"):
                term = Signal(m_bits)
                root = Signal()
                m.d.comb += [
                    mul_a_y.eq(power),
                    mul_b_x.eq(power),
                    mul_b_y.eq(beta),
                    term.eq(value ^ mul_a),
                    root.eq(term == 0),
                ]
                m.d.sync += [*rotate(lam, lam[0]), step.eq(step + 1)]
                m.d.sync += [value.eq(term), power.eq(mul_b)]
                with m.If(step == t):
                    m.d.sync += [
                        step.eq(0),
                        value.eq(0),
                        power.eq(1),
                        beta.eq(_const_mul(field, field.pow_alpha(1), beta)),
                        position.eq(position + 1),
                        roots.eq(roots + root),
                    ]
                    with m.If(position < k):
                        m.d.sync += msg.eq(Cat(msg[-1] ^ root, msg[:-1]))
                    with m.If(position == n - 1):
                        m.next = "DONE"

            with m.State("DONE"):
                m.d.comb += [
                    self.o_result.valid.eq(1),
                    self.o_result.payload.byte.eq(Cat(Const(0, 8), msg)[-8:]),
                    self.o_result.payload.failed.eq((length > t) | (roots != length)),
                ]
                with m.If(self.message_shift):
                    m.d.sync += msg.eq(msg << 8)
                with m.If(self.o_result.ready):
                    m.d.sync += [
                        *[s.eq(0) for s in synd],
                        *[c.eq(int(j == 0)) for j, c in enumerate(lam)],
                        *[c.eq(int(j == 0)) for j, c in enumerate(bpoly)],
                        length.eq(0),
                        gamma.eq(1),
                        r.eq(0),
                        index.eq(0),
                        position.eq(0),
                        beta.eq(beta0),
                        roots.eq(0),
                        msg.eq(0),
                    ]
                    m.next = "INPUT"
        return m
