"""The NIST P-256 curve (FIPS 186-5, SP 800-186) in plain Python integers: the reference model.

The gateware's P-256 engine (:mod:`ropuf.gateware.crypto.p256_program`) runs the point formulas
written here as data, step by step, so the engine and this model cannot disagree on a formula:

* :data:`COMPLETE_ADD`: Renes-Costello-Batina 2016, Algorithm 4, complete addition in projective
  coordinates for a = -3 (12 multiplications, 2 by the constant b, 29 additions). It adds any two
  points of the curve, the point at infinity ``(0 : 1 : 0)`` and equal points included, with no
  exceptional case.
* :data:`DOUBLE` (Algorithm 6, exception-free doubling) and :data:`MIXED_ADD` (Algorithm 5, a
  projective point plus an affine one, complete as long as the affine one is not infinity): the
  cheaper pair the engine's scalar multiplication runs (26 multiplications a bit against 28).
* :func:`scalar_mult`: ``k * P`` most significant bit first by double-and-add-always: each of the
  256 steps doubles, adds ``P`` and keeps one of the two by the bit, so the sequence of field
  operations never depends on ``k``.
* :func:`double_scalar_mult` and :func:`ecdsa_verify`: ``u1 G + u2 Q`` by Shamir's trick (one
  doubling and one mixed addition of G, Q or G + Q per bit pair) and the signature check the
  engine runs before a signature leaves it.
* :func:`inverse`: Fermat, ``x ** (m - 2) mod m``, the way the engine inverts (square, multiply,
  keep one by the exponent's bit, 256 times).

The host and the device model use these for public-key checks; tests compare them with
``cryptography``.
"""

__all__ = [
    "COMPLETE_ADD",
    "DOUBLE",
    "GX",
    "GY",
    "INFINITY",
    "MIXED_ADD",
    "SCALAR_BITS",
    "B",
    "N",
    "P",
    "affine",
    "check_scalar",
    "complete_add",
    "double",
    "double_scalar_mult",
    "ecdsa_sign",
    "ecdsa_verify",
    "inverse",
    "mixed_add",
    "on_curve",
    "run_formula",
    "scalar_mult",
]

#: The field prime p = 2^256 - 2^224 + 2^192 + 2^96 - 1.
P = 2**256 - 2**224 + 2**192 + 2**96 - 1
#: The order of the base point G (a prime).
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
#: The curve's b in y^2 = x^3 - 3x + b.
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
#: The base point G.
GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5
#: Scalars are 256-bit numbers; the ladder runs one step per bit.
SCALAR_BITS = 256
#: The point at infinity in projective coordinates.
INFINITY = (0, 1, 0)

#: RCB 2016 Algorithm 4 (complete addition, a = -3), one field operation a step:
#: ``(operation, destination, operand, operand)``; operation is ``mul``, ``add`` or ``sub``
#: modulo p. Inputs are X1, Y1, Z1, X2, Y2, Z2 and the constant b; outputs X3, Y3, Z3; t0..t4
#: are temporaries. The outputs are written before some inputs are last read: they must not
#: share storage with the inputs.
COMPLETE_ADD = (
    ("mul", "t0", "X1", "X2"),
    ("mul", "t1", "Y1", "Y2"),
    ("mul", "t2", "Z1", "Z2"),
    ("add", "t3", "X1", "Y1"),
    ("add", "t4", "X2", "Y2"),
    ("mul", "t3", "t3", "t4"),
    ("add", "t4", "t0", "t1"),
    ("sub", "t3", "t3", "t4"),
    ("add", "t4", "Y1", "Z1"),
    ("add", "X3", "Y2", "Z2"),
    ("mul", "t4", "t4", "X3"),
    ("add", "X3", "t1", "t2"),
    ("sub", "t4", "t4", "X3"),
    ("add", "X3", "X1", "Z1"),
    ("add", "Y3", "X2", "Z2"),
    ("mul", "X3", "X3", "Y3"),
    ("add", "Y3", "t0", "t2"),
    ("sub", "Y3", "X3", "Y3"),
    ("mul", "Z3", "b", "t2"),
    ("sub", "X3", "Y3", "Z3"),
    ("add", "Z3", "X3", "X3"),
    ("add", "X3", "X3", "Z3"),
    ("sub", "Z3", "t1", "X3"),
    ("add", "X3", "t1", "X3"),
    ("mul", "Y3", "b", "Y3"),
    ("add", "t1", "t2", "t2"),
    ("add", "t2", "t1", "t2"),
    ("sub", "Y3", "Y3", "t2"),
    ("sub", "Y3", "Y3", "t0"),
    ("add", "t1", "Y3", "Y3"),
    ("add", "Y3", "t1", "Y3"),
    ("add", "t1", "t0", "t0"),
    ("add", "t0", "t1", "t0"),
    ("sub", "t0", "t0", "t2"),
    ("mul", "t1", "t4", "Y3"),
    ("mul", "t2", "t0", "Y3"),
    ("mul", "Y3", "X3", "Z3"),
    ("add", "Y3", "Y3", "t2"),
    ("mul", "X3", "t3", "X3"),
    ("sub", "X3", "X3", "t1"),
    ("mul", "Z3", "t4", "Z3"),
    ("mul", "t1", "t3", "t0"),
    ("add", "Z3", "Z3", "t1"),
)


#: RCB 2016 Algorithm 6 (exception-free doubling, a = -3): input X, Y, Z; output X3, Y3, Z3
#: (8 multiplications, 3 squarings, 2 by b, 21 additions). Outputs must not share storage with
#: the inputs.
DOUBLE = (
    ("mul", "t0", "X", "X"),
    ("mul", "t1", "Y", "Y"),
    ("mul", "t2", "Z", "Z"),
    ("mul", "t3", "X", "Y"),
    ("add", "t3", "t3", "t3"),
    ("mul", "Z3", "X", "Z"),
    ("add", "Z3", "Z3", "Z3"),
    ("mul", "Y3", "b", "t2"),
    ("sub", "Y3", "Y3", "Z3"),
    ("add", "X3", "Y3", "Y3"),
    ("add", "Y3", "X3", "Y3"),
    ("sub", "X3", "t1", "Y3"),
    ("add", "Y3", "t1", "Y3"),
    ("mul", "Y3", "X3", "Y3"),
    ("mul", "X3", "X3", "t3"),
    ("add", "t3", "t2", "t2"),
    ("add", "t2", "t2", "t3"),
    ("mul", "Z3", "b", "Z3"),
    ("sub", "Z3", "Z3", "t2"),
    ("sub", "Z3", "Z3", "t0"),
    ("add", "t3", "Z3", "Z3"),
    ("add", "Z3", "Z3", "t3"),
    ("add", "t3", "t0", "t0"),
    ("add", "t0", "t3", "t0"),
    ("sub", "t0", "t0", "t2"),
    ("mul", "t0", "t0", "Z3"),
    ("add", "Y3", "Y3", "t0"),
    ("mul", "t0", "Y", "Z"),
    ("add", "t0", "t0", "t0"),
    ("mul", "Z3", "t0", "Z3"),
    ("sub", "X3", "X3", "Z3"),
    ("mul", "Z3", "t0", "t1"),
    ("add", "Z3", "Z3", "Z3"),
    ("add", "Z3", "Z3", "Z3"),
)

#: RCB 2016 Algorithm 5 (mixed addition, a = -3): a projective X1, Y1, Z1 (any point, infinity
#: included) plus an affine X2, Y2 (any point but infinity); output X3, Y3, Z3 (11
#: multiplications, 2 by b, 23 additions). Outputs must not share storage with the inputs.
MIXED_ADD = (
    ("mul", "t0", "X1", "X2"),
    ("mul", "t1", "Y1", "Y2"),
    ("add", "t3", "X2", "Y2"),
    ("add", "t4", "X1", "Y1"),
    ("mul", "t3", "t3", "t4"),
    ("add", "t4", "t0", "t1"),
    ("sub", "t3", "t3", "t4"),
    ("mul", "t4", "Y2", "Z1"),
    ("add", "t4", "t4", "Y1"),
    ("mul", "Y3", "X2", "Z1"),
    ("add", "Y3", "Y3", "X1"),
    ("mul", "Z3", "b", "Z1"),
    ("sub", "X3", "Y3", "Z3"),
    ("add", "Z3", "X3", "X3"),
    ("add", "X3", "X3", "Z3"),
    ("sub", "Z3", "t1", "X3"),
    ("add", "X3", "t1", "X3"),
    ("mul", "Y3", "b", "Y3"),
    ("add", "t1", "Z1", "Z1"),
    ("add", "t2", "t1", "Z1"),
    ("sub", "Y3", "Y3", "t2"),
    ("sub", "Y3", "Y3", "t0"),
    ("add", "t1", "Y3", "Y3"),
    ("add", "Y3", "t1", "Y3"),
    ("add", "t1", "t0", "t0"),
    ("add", "t0", "t1", "t0"),
    ("sub", "t0", "t0", "t2"),
    ("mul", "t1", "t4", "Y3"),
    ("mul", "t2", "t0", "Y3"),
    ("mul", "Y3", "X3", "Z3"),
    ("add", "Y3", "Y3", "t2"),
    ("mul", "X3", "t3", "X3"),
    ("sub", "X3", "X3", "t1"),
    ("mul", "Z3", "t4", "Z3"),
    ("mul", "t1", "t3", "t0"),
    ("add", "Z3", "Z3", "t1"),
)


def run_formula(formula, values, modulus=P):
    """Run a formula of ``(operation, destination, operand, operand)`` steps on ``values``.

    ``values`` maps names to integers modulo ``modulus``; it is updated in place and returned.
    """
    for operation, destination, a, b in formula:
        x, y = values[a], values[b]
        if operation == "mul":
            values[destination] = x * y % modulus
        elif operation == "add":
            values[destination] = (x + y) % modulus
        elif operation == "sub":
            values[destination] = (x - y) % modulus
        else:
            raise ValueError(f"unknown field operation {operation!r} in a formula step")
    return values


def complete_add(p1, p2):
    """``p1 + p2`` in projective coordinates by :data:`COMPLETE_ADD` (any two curve points)."""
    values = {"b": B}
    values.update(zip(("X1", "Y1", "Z1"), p1, strict=True))
    values.update(zip(("X2", "Y2", "Z2"), p2, strict=True))
    run_formula(COMPLETE_ADD, values)
    return values["X3"], values["Y3"], values["Z3"]


def check_scalar(k):
    """Return ``k`` if it is an integer in [0, 2^256); raise ``ValueError`` otherwise."""
    if isinstance(k, bool) or not isinstance(k, int):
        raise TypeError(f"a P-256 scalar must be an int, not {type(k).__name__}")
    if not 0 <= k < 2**SCALAR_BITS:
        raise ValueError("a P-256 scalar must be in [0, 2^256): reduce it modulo n first")
    return k


def double(p1):
    """``2 * p1`` in projective coordinates by :data:`DOUBLE` (any curve point)."""
    values = dict(zip(("X", "Y", "Z"), p1, strict=True), b=B)
    run_formula(DOUBLE, values)
    return values["X3"], values["Y3"], values["Z3"]


def mixed_add(p1, p2):
    """``p1 + p2`` by :data:`MIXED_ADD`: ``p1`` projective (any point), ``p2`` affine."""
    values = {"b": B}
    values.update(zip(("X1", "Y1", "Z1"), p1, strict=True))
    values.update(zip(("X2", "Y2"), p2, strict=True))
    run_formula(MIXED_ADD, values)
    return values["X3"], values["Y3"], values["Z3"]


def scalar_mult(k, point=(GX, GY)):
    """``k * point`` (projective; ``point`` affine, not infinity), double-and-add-always over
    all 256 bits of ``k``: each step doubles (:data:`DOUBLE`), adds ``point``
    (:data:`MIXED_ADD`) and keeps one of the two by the bit."""
    check_scalar(k)
    r = INFINITY
    for i in reversed(range(SCALAR_BITS)):
        doubled = double(r)
        added = mixed_add(doubled, point)
        r = added if (k >> i) & 1 else doubled
    return r


def inverse(x, modulus):
    """``x ** -1 mod modulus`` by Fermat (``modulus`` prime); 0 maps to 0."""
    return pow(x, modulus - 2, modulus)


def affine(point):
    """The affine ``(x, y)`` of a projective point; ``None`` for the point at infinity."""
    x, y, z = point
    if z % P == 0:
        return None
    z_inv = inverse(z, P)
    return x * z_inv % P, y * z_inv % P


def on_curve(x, y):
    """Whether the affine point ``(x, y)`` satisfies y^2 = x^3 - 3x + b modulo p."""
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x - 3 * x + B)) % P == 0


def ecdsa_sign(d, k, digest):
    """ECDSA's ``(r, s)`` (FIPS 186-5) for key *d*, nonce *k* (both in [1, n)) and a 32-byte
    SHA-256 *digest*, as the engine computes it: ``r = x(k G) mod n``,
    ``s = k^-1 (z + r d) mod n`` with ``z`` the digest as a big-endian integer. Returns
    ``None`` when r or s is 0 (the caller takes the next nonce)."""
    for name, value in (("d", d), ("k", k)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < N:
            raise ValueError(f"the ECDSA {name} must be an int in [1, n)")
    if not isinstance(digest, bytes) or len(digest) != 32:
        raise ValueError("the digest must be 32 bytes (SHA-256)")
    x, _ = affine(scalar_mult(k))
    r = x % N
    s = inverse(k, N) * (int.from_bytes(digest, "big") + r * d) % N
    return None if r == 0 or s == 0 else (r, s)


def double_scalar_mult(u1, u2, q, gq):
    """``u1 G + u2 Q`` (projective) as the engine's verification runs it (Shamir's trick):
    ``q`` is Q and ``gq`` is G + Q, both affine; for each of the 256 bit pairs, most significant
    first, double, add G, Q or G + Q (:data:`MIXED_ADD`) as the pair says, and keep the sum
    unless both bits are 0. ``gq`` must not be infinity (Q = -G)."""
    r = INFINITY
    for i in reversed(range(SCALAR_BITS)):
        b1, b2 = (u1 >> i) & 1, (u2 >> i) & 1
        doubled = double(r)
        addend = ((GX, GY), gq)[b2] if b1 else q
        added = mixed_add(doubled, addend)
        r = added if b1 or b2 else doubled
    return r


def ecdsa_verify(q, digest, r, s):
    """Whether ``(r, s)`` is an ECDSA signature of the 32-byte *digest* under the public key
    *q* (affine), as the engine checks it: r and s in [1, n), ``R = u1 G + u2 Q`` with
    ``u1 = z s^-1``, ``u2 = r s^-1`` not infinity and ``X == r Z`` modulo p (x(R) = r; the
    other x with x mod n = r, r + n, is refused: probability about 2^-128)."""
    if not (1 <= r < N and 1 <= s < N) or not on_curve(*q):
        return False
    w = inverse(s, N)
    z = int.from_bytes(digest, "big") % N
    gq = affine(complete_add((GX, GY, 1), (*q, 1)))
    if gq is None:
        return False
    x, _, zz = double_scalar_mult(z * w % N, r * w % N, q, gq)
    return zz % P != 0 and (x - r * zz) % P == 0
