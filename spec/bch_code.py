"""Binary BCH codes over GF(2^m): field tables, generator polynomials, systematic encoding.

Plain Python, read by the host reference (:mod:`ropuf.host.fuzzy`) and the gateware decoder
(:mod:`ropuf.gateware.key.decoder`), so both use the same field, the same primitive polynomial and
the same bit order.

Conventions
-----------
* GF(2^m) elements are integers ``0 .. 2**m - 1``, bit ``j`` the coefficient of ``a^j`` of the
  polynomial basis; ``alpha`` is the element ``2`` (a root of :data:`PRIMITIVE_POLYNOMIALS`).
* A codeword of the shortened code ``(n, k)`` is a list of ``n`` bits. Bit ``i`` is the
  coefficient of ``x^(n - 1 - i)``: the first bit is the highest degree. The first ``k`` bits are
  the message (systematic), the last ``n - k`` the parity. Shortening by ``s`` leaves out the
  ``s`` highest-degree message positions of the full-length code (they are zero).
"""

import functools

__all__ = [
    "PRIMITIVE_POLYNOMIALS",
    "BCHCode",
    "GaloisField",
    "bch_code",
    "galois_field",
]

#: A primitive polynomial for each supported field size ``m`` (bit ``j`` is ``x^j``).
PRIMITIVE_POLYNOMIALS = {
    4: 0x13,
    5: 0x25,
    6: 0x43,
    7: 0x89,
    8: 0x11D,
    9: 0x211,
    10: 0x409,
}


class GaloisField:
    """GF(2^m) with exponent and logarithm tables.

    Parameters
    ----------
    m : int
        Field degree, a key of :data:`PRIMITIVE_POLYNOMIALS`.

    Attributes
    ----------
    m : int
    order : int
        ``2**m - 1``, the multiplicative order of ``alpha``.
    exp : tuple of int
        ``exp[i] = alpha**i`` for ``i`` in ``0 .. 2 * order - 1`` (doubled so that a sum of two
        logarithms indexes it directly).
    log : tuple of int
        ``log[a]`` for ``a != 0``; ``log[0]`` is ``-1`` (undefined).
    """

    def __init__(self, m: int):
        if not isinstance(m, int) or isinstance(m, bool):
            raise TypeError(f"Field degree must be an integer, not {m!r}")
        if m not in PRIMITIVE_POLYNOMIALS:
            raise ValueError(
                f"Field degree must be one of {sorted(PRIMITIVE_POLYNOMIALS)}, not {m!r}"
            )
        self.m = m
        self.order = (1 << m) - 1
        poly = PRIMITIVE_POLYNOMIALS[m]
        exp = []
        log = [-1] * (1 << m)
        value = 1
        for i in range(self.order):
            exp.append(value)
            log[value] = i
            value <<= 1
            if value >> m:
                value ^= poly
        self.exp = tuple(exp + exp)
        self.log = tuple(log)

    def mul(self, a: int, b: int) -> int:
        """Product of two field elements."""
        if a == 0 or b == 0:
            return 0
        return self.exp[self.log[a] + self.log[b]]

    def pow_alpha(self, e: int) -> int:
        """``alpha**e`` for any integer ``e`` (negative allowed)."""
        return self.exp[e % self.order]

    def mul_matrix(self, constant: int) -> tuple[int, ...]:
        """Multiplication by *constant* as a GF(2) matrix: output bit ``j`` is the parity of
        ``x & row[j]`` (used by the gateware for constant multipliers)."""
        columns = [self.mul(constant, 1 << i) for i in range(self.m)]
        return tuple(
            sum(((columns[i] >> j) & 1) << i for i in range(self.m)) for j in range(self.m)
        )


@functools.cache
def galois_field(m: int) -> GaloisField:
    """The (cached) field GF(2^m)."""
    return GaloisField(m)


def _poly_mul_gf2(a: int, b: int) -> int:
    result = 0
    while b:
        if b & 1:
            result ^= a
        a <<= 1
        b >>= 1
    return result


def _poly_mod_gf2(a: int, g: int) -> int:
    degree = g.bit_length() - 1
    while a.bit_length() - 1 >= degree:
        a ^= g << (a.bit_length() - 1 - degree)
    return a


def _minimal_polynomial(field: GaloisField, exponent: int) -> int:
    coset = []
    e = exponent % field.order
    while e not in coset:
        coset.append(e)
        e = (2 * e) % field.order
    poly = [1]  # coefficients over GF(2^m), lowest degree first
    for c in coset:
        root = field.pow_alpha(c)
        shifted = [0, *poly]
        poly = [s ^ field.mul(root, p) for s, p in zip(shifted, [*poly, 0], strict=True)]
    if any(coefficient > 1 for coefficient in poly):
        raise AssertionError("minimal polynomial is not binary")  # pragma: no cover
    return sum(bit << i for i, bit in enumerate(poly))


class BCHCode:
    """A narrow-sense binary BCH code of length ``2**m - 1``, shortened to length *n*.

    Parameters
    ----------
    m : int
        Field degree.
    t : int
        Designed error-correcting capability (roots ``alpha^1 .. alpha^(2t)``), at least 1.
    n : int
        Shortened length, ``n - k_full + 1 .. 2**m - 1`` (at least one message bit).

    Attributes
    ----------
    field : GaloisField
    generator : int
        The generator polynomial over GF(2), bit ``j`` the coefficient of ``x^j``.
    n_full, k_full : int
        Length and dimension of the full-length code.
    n, k : int
        Length and dimension of the shortened code (``k = k_full - (n_full - n)``).
    parity_bits : int
        ``n - k``, the degree of the generator.

    Raises
    ------
    TypeError, ValueError
        A parameter is not an integer or out of range; the message quotes it.
    """

    def __init__(self, m: int, t: int, n: int):
        self.field = galois_field(m)
        for name, value in (("Error capability t", t), ("Code length n", n)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an integer, not {value!r}")
        if t < 1:
            raise ValueError(f"Error capability t must be at least 1, not {t!r}")
        generator = 1
        for minimal in sorted({_minimal_polynomial(self.field, e) for e in range(1, 2 * t + 1)}):
            generator = _poly_mul_gf2(generator, minimal)
        self.generator = generator
        self.t = t
        self.n_full = self.field.order
        self.parity_bits = generator.bit_length() - 1
        self.k_full = self.n_full - self.parity_bits
        if self.k_full < 1:
            raise ValueError(f"BCH code with m={m!r}, t={t!r} has no message bits")
        shortest = self.parity_bits + 1
        if not shortest <= n <= self.n_full:
            raise ValueError(
                f"Code length n must be in {shortest}..{self.n_full} for m={m!r}, t={t!r}, "
                f"not {n!r}"
            )
        self.n = n
        self.k = n - self.parity_bits

    def __repr__(self) -> str:
        return f"BCHCode(m={self.field.m}, t={self.t}, n={self.n})  # ({self.n}, {self.k})"

    def encode(self, message: list[int]) -> list[int]:
        """Systematic codeword of *message* (``k`` bits, first bit highest degree)."""
        if len(message) != self.k or any(bit not in (0, 1) for bit in message):
            raise ValueError(f"Message must be {self.k} bits of 0 or 1, not {message!r}")
        value = 0
        for bit in message:
            value = (value << 1) | bit
        parity = _poly_mod_gf2(value << self.parity_bits, self.generator)
        return list(message) + [(parity >> j) & 1 for j in range(self.parity_bits - 1, -1, -1)]

    def syndromes(self, word: list[int]) -> list[int]:
        """``S_j = word(alpha^j)`` for ``j = 1 .. 2t`` (Horner over the bits in order)."""
        field = self.field
        result = []
        for j in range(1, 2 * self.t + 1):
            a = field.pow_alpha(j)
            s = 0
            for bit in word:
                s = field.mul(s, a) ^ bit
            result.append(s)
        return result


@functools.cache
def bch_code(m: int, t: int, n: int) -> BCHCode:
    """The (cached) shortened BCH code; see :class:`BCHCode`."""
    return BCHCode(m, t, n)
