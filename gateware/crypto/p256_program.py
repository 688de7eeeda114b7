"""The P-256 engine's microcode: register map, constants, and its routines.

Programs for :class:`~ropuf.gateware.crypto.p256_alu.P256ALU`, assembled from the reference
model's formulas (:data:`ropuf.spec.p256.DOUBLE` and :data:`~ropuf.spec.p256.MIXED_ADD`, one
instruction a step), so the gateware runs exactly the field operations the reference does:

* :data:`SCALAR_MULT` (entry :data:`ENTRIES`\\ ``["scalar_mult"]``): ``(QX, QY) = K * G``,
  affine, plain (not Montgomery) integers. It clears the fault flag, starts R at the point at
  infinity (0 : 1 : 0) and for each of the 256 bits of K, most significant first: ``T = 2R``
  (exception-free doubling), ``U = T + G`` (mixed addition, complete for any T), ``R = U`` if
  the bit is 1 else ``T`` (three SEL). Then ``Z^-1`` by Fermat (``Z ** (p - 2)``: square,
  multiply, SEL by the exponent's bit, 256 times), ``x = X * Z^-1``, ``y = Y * Z^-1``, and a
  check that (x, y) is on the curve. K = 0 or n gives the point at infinity, which comes out as
  (0, 0) and fails the check.
* :data:`SIGNATURE` (entry ``ENTRIES["signature"]``), run after SCALAR_MULT with the nonce in K:
  ``r = QX mod n`` (written to :data:`SIG_R`), ``s = K^-1 (H + r D) mod n`` (to
  :data:`SIG_S`), everything modulo n in Montgomery form, ``K^-1`` by Fermat; checks
  ``r != 0``, ``s != 0``, r against r computed again from x R (which SCALAR_MULT keeps in TX),
  and ``s K = H + r D`` computed afresh from the s given and K, D, H (no inversion: no value
  that made s is reused).
* :data:`VERIFY` (``"verify"``), after SIGNATURE with K2, D2, H2 loaded a second time: K, D, H
  equal to them, then (r, s) verified against the public key PUBLIC kept: ``u1 G + u2 Q`` by
  Shamir's trick (:func:`ropuf.spec.p256.double_scalar_mult`), ``X == r Z`` and ``Z != 0``.
* :data:`PUBLIC` (``"public"``), after SCALAR_MULT of d at RECONSTRUCT: Q kept in QPX, QPY
  (plain) and G + Q in GQX, GQY (affine, Montgomery form); :data:`IDENTITY` (``"identity"``):
  the kept Q copied to QX, QY and checked on the curve.
* :data:`CLEAR` (entry ``ENTRIES["clear"]``): every register but the constants and the public
  key's four (QPX, QPY, GQX, GQY) set to 0 (K, D, H, the results and every intermediate
  value), for the caller to run once it has read the results. It leaves the fault flag as it
  is.
* The identity key's (:mod:`ropuf.spec.identity`): :data:`DERIVE` (entry ``"derive"``):
  ``QX = d = (c mod (n - 1)) + 1`` for the 320-bit ``c`` loaded as U1 (its top 64 bits) and K
  (its low 256), Horner's rule a bit at a time modulo n - 1 (ADDK: double, add the bit as SEL
  of ``acc`` and ``acc + 1``) over all 512 bits, FIPS 186-5 A.2.1; ``check_derive``: QX (d
  from the second expansion of c) equal to D (the first's, loaded back), kept in D2;
  ``check_public``: QX, QY (a second SCALAR_MULT's Q) equal to the kept QPX, QPY, and K equal
  to D2 (as PUBLIC checks it too); :data:`REDUCE` (``"reduce"``): ``H = H mod n``
  (RFC 6979's bits2octets, and z); :data:`NONCE_CHECK` (``"nonce_check"``, after SCALAR_MULT):
  sets ``fault`` if K is not below n (RFC 6979's range check; K = 0 already fails SCALAR_MULT).
  DERIVE, REDUCE and IDENTITY start with CLRF, so their result reads.

A failed check sets the engine's ``fault`` until the next routine that starts with CLRF, and
while it is set the read port shows 0: a point off the curve, a zero r or s, a signature that
does not satisfy its equation or does not verify, or an input that differs from its second
computation does not leave (docs/identity.md, "Fault checks", lists the single faults and what
catches each). The caller latches ``fault`` after each routine that may set it. The read port
shows only :data:`READABLE` (QX and QY, which hold r and s after SIGNATURE): the secrets loaded
and everything computed from them stay inside.

Each runs the same instructions whatever the data: the cycle counts are
:data:`SCALAR_MULT_CYCLES`, :data:`SIGNATURE_CYCLES`, :data:`VERIFY_CYCLES` and the others
named ``*_CYCLES``.
"""

from ropuf.gateware.crypto.p256_alu import (
    ADD,
    ADDK,
    BIT,
    CHK,
    CLRF,
    LOOP,
    MUL,
    REGISTERS,
    SEL,
    SETC,
    STOP,
    SUB,
    WORD_BITS,
    WORDS,
    Instruction,
    cycles,
    op_cycles,
)
from ropuf.spec.p256 import DOUBLE, GX, GY, MIXED_ADD, B, N, P

__all__ = [
    "CLEAR",
    "CLEAR_CYCLES",
    "DERIVE",
    "DERIVE_CYCLES",
    "ENTRIES",
    "INIT",
    "INVERSION_CYCLES",
    "NONCE_CHECK",
    "PROGRAM",
    "READABLE",
    "READABLE_IDENTITY",
    "REDUCE",
    "REGISTER",
    "SCALAR_MULT",
    "SCALAR_MULT_CYCLES",
    "SIGNATURE",
    "SIGNATURE_CYCLES",
    "SIG_R",
    "SIG_S",
]

_R = 2 ** (WORDS * WORD_BITS)

#: Register numbers by name. Constants first (their values are :data:`INIT`), then the working
#: registers, then the inputs (K, D, H) and outputs (QX, QY).
REGISTER = {
    name: number
    for number, name in enumerate(
        (
            "EXP_P", "EXP_N", "R2_P", "R2_N", "ONE", "ZERO", "B", "GX", "GY", "ONE_P",
            "RX", "RY", "RZ", "TX", "TY", "TZ", "UX", "UY", "UZ",
            "t0", "t1", "t2", "t3", "t4", "ACC", "TMP",
            "K", "D", "H", "QX", "QY",
            "QPX", "QPY", "GQX", "GQY", "MQX", "MQY", "PX", "PY", "U1", "U2", "K2", "D2", "H2",
        )
    )
}  # fmt: skip
assert len(REGISTER) <= REGISTERS

#: SIGNATURE's outputs: r replaces QX, s replaces QY.
SIG_R = REGISTER["QX"]
SIG_S = REGISTER["QY"]

_CONSTANTS = {
    "EXP_P": P - 2,
    "EXP_N": N - 2,
    "R2_P": _R * _R % P,
    "R2_N": _R * _R % N,
    "ONE": 1,
    "ZERO": 0,
    "B": B * _R % P,
    "GX": GX * _R % P,
    "GY": GY * _R % P,
    "ONE_P": _R % P,
}

#: The register file's initial contents (the constants; every other register 0).
INIT = [_CONSTANTS.get(name, 0) for name in REGISTER]

_OPS = {"mul": MUL, "add": ADD, "sub": SUB, "addk": ADDK}


def _ins(op, dst="ZERO", a="ZERO", b="ZERO", *, mod=0, target=0):
    return Instruction(op, REGISTER[dst], REGISTER[a], REGISTER[b], mod=mod, target=target)


def _formula(formula, names):
    """*formula* (steps of :mod:`ropuf.spec.p256`) with its names mapped to registers by
    *names* (``b`` and the temporaries ``t0..t4`` map to themselves)."""
    names = {"b": "B", **{f"t{k}": f"t{k}" for k in range(5)}, **names}
    return [_ins(_OPS[op], names[d], names[a], names[b]) for op, d, a, b in formula]


def _power(base, exponent, start, *, mod):
    """ACC = base ** exponent (Montgomery, modulo p or n), square-and-multiply-always over the
    exponent register's 256 bits; the loop starts at instruction ``start``."""
    return [
        _ins(SETC),
        _ins(BIT, a=exponent),
        _ins(MUL, "ACC", "ACC", "ACC", mod=mod),
        _ins(MUL, "TMP", "ACC", base, mod=mod),
        _ins(SEL, "ACC", "ACC", "TMP"),
        _ins(LOOP, target=start + 1),
    ]


def _scalar_mult(entry):
    r, t, u = ("RX", "RY", "RZ"), ("TX", "TY", "TZ"), ("UX", "UY", "UZ")
    code = [
        _ins(CLRF),
        _ins(SEL, "RX", "ZERO", "ZERO"),
        _ins(SEL, "RY", "ONE_P", "ONE_P"),
        _ins(SEL, "RZ", "ZERO", "ZERO"),
        _ins(SETC),
    ]
    loop = entry + len(code)
    double = dict(zip(("X", "Y", "Z", "X3", "Y3", "Z3"), (*r, *t), strict=True))
    add = dict(
        zip(("X1", "Y1", "Z1", "X2", "Y2", "X3", "Y3", "Z3"), (*t, "GX", "GY", *u), strict=True)
    )
    code += [_ins(BIT, a="K"), *_formula(DOUBLE, double), *_formula(MIXED_ADD, add)]
    code += [_ins(SEL, rr, tt, uu) for rr, tt, uu in zip(r, t, u, strict=True)]
    code += [_ins(LOOP, target=loop), _ins(SEL, "ACC", "ONE_P", "ONE_P")]
    code += _power("RZ", "EXP_P", entry + len(code), mod=0)
    code += [
        _ins(MUL, "QX", "RX", "ACC"),  # x R
        _ins(SEL, "TX", "QX", "QX"),  # kept for SIGNATURE's check of r
        _ins(MUL, "QY", "RY", "ACC"),  # y R
        # On the curve (infinity, K = 0 mod n, fails too).
        *_on_curve("QX", "QY"),
        _ins(MUL, "QX", "QX", "ONE"),
        _ins(MUL, "QY", "QY", "ONE"),
        _ins(STOP),
    ]
    return code


def _on_curve(x, y):
    """Sets ``fault`` unless ``y^2 - (x^3 - 3x + b)`` is 0 (x, y in Montgomery form modulo p);
    uses t0 and t1."""
    return [
        _ins(MUL, "t0", x, x),
        _ins(MUL, "t0", "t0", x),
        _ins(ADD, "t1", x, x),
        _ins(ADD, "t1", "t1", x),
        _ins(SUB, "t0", "t0", "t1"),
        _ins(ADD, "t0", "t0", "B"),
        _ins(MUL, "t1", y, y),
        _ins(SUB, "t0", "t0", "t1"),
        _ins(CHK, a="t0"),
    ]


def _r_d_z(r, result):
    """``result = (z + r d) R`` modulo n from the plain ``r``; uses t0 and ``result``."""
    n = {"mod": 1}
    return [
        _ins(MUL, "t0", r, "R2_N", **n),  # r R
        _ins(MUL, result, "D", "R2_N", **n),  # d R
        _ins(MUL, result, "t0", result, **n),  # r d R
        _ins(MUL, "t0", "H", "R2_N", **n),  # z R
        _ins(ADD, result, "t0", result, **n),  # (z + r d) R
    ]


def _signature(entry):
    n = {"mod": 1}
    code = [
        _ins(ADD, "QX", "QX", "ZERO", **n),  # r = x mod n (x < p < 2n)
        _ins(CHK, a="QX", mod=1),  # r != 0
        *_r_d_z("QX", "t2"),
        _ins(MUL, "t3", "K", "R2_N", **n),  # k R
        _ins(MUL, "ACC", "R2_N", "ONE", **n),  # R mod n: Montgomery 1
    ]
    code += _power("t3", "EXP_N", entry + len(code), mod=1)  # k^-1 R
    code += [
        _ins(MUL, "t4", "ACC", "t2", **n),  # s R
        _ins(MUL, "QY", "t4", "ONE", **n),  # s
        _ins(CHK, a="QY", mod=1),  # s != 0
        # Checks on values computed afresh: r again from x R (kept in TX), equal to the r
        # given; then s k = z + r d from the s given, K, D, H.
        _ins(MUL, "t3", "TX", "ONE"),  # x (mod p)
        _ins(ADD, "t3", "t3", "ZERO", **n),  # r
        _ins(SUB, "t4", "t3", "QX", **n),
        _ins(CHK, a="t4"),
        *_r_d_z("t3", "t4"),
        _ins(MUL, "t0", "QY", "R2_N", **n),  # s R
        _ins(MUL, "t1", "K", "R2_N", **n),  # k R
        _ins(MUL, "t0", "t0", "t1", **n),  # s k R
        _ins(SUB, "t0", "t0", "t4", **n),
        _ins(CHK, a="t0"),
        _ins(STOP),
    ]
    return code


def _public(entry):
    """After SCALAR_MULT of d: Q = (QX, QY) kept in QPX, QPY (plain) and G + Q in GQX, GQY
    (affine, Montgomery form), for IDENTITY and VERIFY; K (d as loaded) checked against D2."""
    add = dict(
        zip(
            ("X1", "Y1", "Z1", "X2", "Y2", "X3", "Y3", "Z3"),
            ("GX", "GY", "ONE_P", "MQX", "MQY", "UX", "UY", "UZ"),
            strict=True,
        )
    )
    code = [
        *_same_key(),
        _ins(SEL, "QPX", "QX", "QX"),
        _ins(SEL, "QPY", "QY", "QY"),
        _ins(MUL, "MQX", "QX", "R2_P"),
        _ins(MUL, "MQY", "QY", "R2_P"),
        *_formula(MIXED_ADD, add),
        _ins(SEL, "ACC", "ONE_P", "ONE_P"),
    ]
    code += _power("UZ", "EXP_P", entry + len(code), mod=0)
    return [*code, _ins(MUL, "GQX", "UX", "ACC"), _ins(MUL, "GQY", "UY", "ACC"), _ins(STOP)]


def _identity():
    """Q (kept by PUBLIC) into QX, QY, checked on the curve afresh."""
    return [
        _ins(CLRF),
        _ins(SEL, "QX", "QPX", "QPX"),
        _ins(SEL, "QY", "QPY", "QPY"),
        _ins(MUL, "MQX", "QPX", "R2_P"),
        _ins(MUL, "MQY", "QPY", "R2_P"),
        *_on_curve("MQX", "MQY"),
        _ins(STOP),
    ]


def _verify(entry):
    """After SIGNATURE, with K2, D2, H2 loaded again: K, D, H equal to them; then (r, s) in
    QX, QY verified against Q (PUBLIC's): ``u1 G + u2 Q`` by Shamir's trick, ``X == r Z`` and
    ``Z != 0``. Every check sets ``fault``; nothing clears it."""
    n = {"mod": 1}
    code = []
    for a, b in (("K", "K2"), ("D", "D2"), ("H", "H2")):
        code += [_ins(SUB, "t0", a, b, **n), _ins(CHK, a="t0")]
    code += [
        _ins(MUL, "MQX", "QPX", "R2_P"),
        _ins(MUL, "MQY", "QPY", "R2_P"),
        _ins(MUL, "t3", "QY", "R2_N", **n),  # s R
        _ins(MUL, "ACC", "R2_N", "ONE", **n),  # R mod n
    ]
    code += _power("t3", "EXP_N", entry + len(code), mod=1)  # w = s^-1 R
    code += [
        _ins(MUL, "t0", "H", "R2_N", **n),
        _ins(MUL, "U1", "t0", "ACC", **n),
        _ins(MUL, "U1", "U1", "ONE", **n),  # u1 = z w, plain
        _ins(MUL, "t0", "QX", "R2_N", **n),
        _ins(MUL, "U2", "t0", "ACC", **n),
        _ins(MUL, "U2", "U2", "ONE", **n),  # u2 = r w, plain
        _ins(SEL, "RX", "ZERO", "ZERO"),
        _ins(SEL, "RY", "ONE_P", "ONE_P"),
        _ins(SEL, "RZ", "ZERO", "ZERO"),
        _ins(SETC),
    ]
    loop = entry + len(code)
    r, t, u = ("RX", "RY", "RZ"), ("TX", "TY", "TZ"), ("UX", "UY", "UZ")
    double = dict(zip(("X", "Y", "Z", "X3", "Y3", "Z3"), (*r, *t), strict=True))
    add = dict(
        zip(("X1", "Y1", "Z1", "X2", "Y2", "X3", "Y3", "Z3"), (*t, "PX", "PY", *u), strict=True)
    )
    code += [
        *_formula(DOUBLE, double),
        # P = G + Q or G (u1's bit 1, by u2's), Q (u1's bit 0).
        _ins(BIT, a="U2"),
        _ins(SEL, "PX", "GX", "GQX"),
        _ins(SEL, "PY", "GY", "GQY"),
        _ins(BIT, a="U1"),
        _ins(SEL, "PX", "MQX", "PX"),
        _ins(SEL, "PY", "MQY", "PY"),
        *_formula(MIXED_ADD, add),
        # R = U unless both bits are 0.
        _ins(BIT, a="U2"),
        *(_ins(SEL, rr, tt, uu) for rr, tt, uu in zip(r, t, u, strict=True)),
        _ins(BIT, a="U1"),
        *(_ins(SEL, rr, rr, uu) for rr, uu in zip(r, u, strict=True)),
        _ins(LOOP, target=loop),
        # x(R) = r: X = r Z modulo p (r < n < p), and R is not infinity.
        _ins(MUL, "t0", "QX", "R2_P"),
        _ins(MUL, "t0", "t0", "RZ"),
        _ins(SUB, "t0", "RX", "t0"),
        _ins(CHK, a="t0"),
        _ins(CHK, a="RZ", mod=1),
        _ins(STOP),
    ]
    return code


#: Registers CLEAR leaves: the constants and the public key's (Q, G + Q), which PUBLIC sets at
#: RECONSTRUCT and IDENTITY and VERIFY read.
_KEPT = (*_CONSTANTS, "QPX", "QPY", "GQX", "GQY")


def _clear():
    constants = set(_KEPT)
    return [_ins(SEL, name, "ZERO", "ZERO") for name in REGISTER if name not in constants] + [
        _ins(STOP)
    ]


def _horner(register, start):
    """ACC = (ACC * 2^256 + register) mod (n - 1), a bit at a time from the top; the loop
    starts at instruction ``start``."""
    return [
        _ins(SETC),
        _ins(BIT, a=register),
        _ins(ADDK, "ACC", "ACC", "ACC"),
        _ins(ADDK, "TMP", "ACC", "ONE"),
        _ins(SEL, "ACC", "ACC", "TMP"),
        _ins(LOOP, target=start + 1),
    ]


def _derive(entry):
    # c's top 64 bits in U1, its low 256 in K (neither readable); d to QX for the sequencer.
    code = [_ins(CLRF), _ins(SEL, "ACC", "ZERO", "ZERO")]
    code += _horner("U1", entry + len(code))
    code += _horner("K", entry + len(code))
    return [*code, _ins(ADD, "QX", "ACC", "ONE", mod=1), _ins(STOP)]


def _check_derive():
    """DERIVE's d (QX, from the second expansion) equal to the d stored from the first (loaded
    back into D); kept in D2, which PUBLIC and check_public compare K with."""
    return [
        _ins(SUB, "t0", "QX", "D", mod=1),
        _ins(CHK, a="t0"),
        _ins(SEL, "D2", "QX", "QX"),
        _ins(STOP),
    ]


def _same_key():
    """K (d as loaded for SCALAR_MULT) equal to D2 (check_derive's d)."""
    return [_ins(SUB, "t0", "K", "D2", mod=1), _ins(CHK, a="t0")]


def _check_public():
    """SCALAR_MULT's Q (QX, QY, from its second run) equal to the Q PUBLIC kept (QPX, QPY),
    from the d check_derive kept."""
    return [
        *_same_key(),
        _ins(SUB, "t0", "QX", "QPX"),
        _ins(CHK, a="t0"),
        _ins(SUB, "t0", "QY", "QPY"),
        _ins(CHK, a="t0"),
        _ins(STOP),
    ]


def _reduce():
    return [_ins(CLRF), _ins(ADD, "H", "H", "ZERO", mod=1), _ins(STOP)]


def _nonce_check():
    # K mod n (K < 2^256 < 2n) minus K is 0 if K < n, -n + p otherwise.
    return [
        _ins(ADD, "t0", "K", "ZERO", mod=1),
        _ins(SUB, "t0", "t0", "K"),
        _ins(CHK, a="t0"),
        _ins(STOP),
    ]


def _assemble(*routines):
    """The ROM of *routines* (``(name, builder)``, each builder called with its entry), and
    the entries."""
    program, entries = [], {}
    for name, build in routines:
        entries[name] = len(program)
        program += build(len(program))
    return program, entries


PROGRAM, ENTRIES = _assemble(
    ("scalar_mult", _scalar_mult),
    ("signature", _signature),
    ("clear", lambda entry: _clear()),
    ("derive", _derive),
    ("reduce", lambda entry: _reduce()),
    ("nonce_check", lambda entry: _nonce_check()),
    ("public", _public),
    ("identity", lambda entry: _identity()),
    ("verify", _verify),
    ("check_derive", lambda entry: _check_derive()),
    ("check_public", lambda entry: _check_public()),
)


def _routine(name):
    """Routine *name*'s instructions, its entry to its STOP."""
    end = ENTRIES[name]
    while PROGRAM[end].op != STOP:
        end += 1
    return PROGRAM[ENTRIES[name] : end + 1]


SCALAR_MULT = _routine("scalar_mult")
SIGNATURE = _routine("signature")
CLEAR = _routine("clear")
DERIVE = _routine("derive")
REDUCE = _routine("reduce")
NONCE_CHECK = _routine("nonce_check")
PUBLIC = _routine("public")
IDENTITY = _routine("identity")
VERIFY = _routine("verify")

#: The registers the engine's read port shows (``P256ALU(PROGRAM, INIT, readable=READABLE)``):
#: the results. K, D, H and every intermediate value read as 0.
READABLE = (REGISTER["QX"], REGISTER["QY"])
#: What the key engine's identity sequencer reads (:mod:`ropuf.gateware.key.identity`): the
#: results (QX, QY: also DERIVE's d, which the sequencer stores in its own memory, where the
#: attestation key lives too) and REDUCE's h mod n (H, the public digest). D, K, U1 (the
#: loaded secrets) and every intermediate value read as 0.
READABLE_IDENTITY = (REGISTER["QX"], REGISTER["QY"], REGISTER["H"])

#: Clock cycles of each routine, from its start to its STOP, whatever the data.
SCALAR_MULT_CYCLES = cycles(PROGRAM, ENTRIES["scalar_mult"])
SIGNATURE_CYCLES = cycles(PROGRAM, ENTRIES["signature"])
CLEAR_CYCLES = cycles(PROGRAM, ENTRIES["clear"])
DERIVE_CYCLES = cycles(PROGRAM, ENTRIES["derive"])
PUBLIC_CYCLES = cycles(PROGRAM, ENTRIES["public"])
IDENTITY_CYCLES = cycles(PROGRAM, ENTRIES["identity"])
VERIFY_CYCLES = cycles(PROGRAM, ENTRIES["verify"])

#: Clock cycles of one inversion by Fermat inside a routine (SETC and the 256-step loop).
INVERSION_CYCLES = cycles([*_power("RZ", "EXP_P", 0, mod=0), _ins(STOP)]) - op_cycles(STOP)
