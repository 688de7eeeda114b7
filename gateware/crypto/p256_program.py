"""The P-256 engine's microcode: register map, constants, and the two routines.

Programs for :class:`~ropuf.gateware.crypto.p256_alu.P256ALU`, assembled from the reference
model's formulas (:data:`ropuf.spec.p256.DOUBLE` and :data:`~ropuf.spec.p256.MIXED_ADD`, one
instruction a step), so the gateware runs exactly the field operations the reference does:

* :data:`SCALAR_MULT` (entry :data:`ENTRIES`\\ ``["scalar_mult"]``): ``(QX, QY) = K * G``,
  affine, plain (not Montgomery) integers. R starts at the point at infinity (0 : 1 : 0); for
  each of the 256 bits of K, most significant first: ``T = 2R`` (exception-free doubling),
  ``U = T + G`` (mixed addition, complete for any T), ``R = U`` if the bit is 1 else ``T``
  (three SEL). Then ``Z^-1`` by Fermat
  (``Z ** (p - 2)``: square, multiply, SEL by the exponent's bit, 256 times) and
  ``x = X * Z^-1``, ``y = Y * Z^-1``. K = 0 or n gives the point at infinity, which comes out
  as (0, 0) (Z = 0 has the "inverse" 0).
* :data:`SIGNATURE` (entry ``ENTRIES["signature"]``), run after SCALAR_MULT with the nonce in K:
  ``r = QX mod n`` (written to :data:`SIG_R`), ``s = K^-1 (H + r D) mod n`` (to
  :data:`SIG_S`), everything modulo n in Montgomery form, ``K^-1`` by Fermat. ECDSA's
  ``r = 0`` and ``s = 0`` checks are the caller's (each has probability about 2^-256).
* :data:`CLEAR` (entry ``ENTRIES["clear"]``): every register but the constants set to 0 (K, D,
  H, the results and every intermediate value), for the caller to run once it has read the
  results.

The engine's read port shows only :data:`READABLE` (QX and QY, which hold r and s after
SIGNATURE): the secrets loaded and everything computed from them stay inside.

Each runs the same instructions whatever the data: the cycle counts are
:data:`SCALAR_MULT_CYCLES`, :data:`SIGNATURE_CYCLES` and :data:`CLEAR_CYCLES`.
"""

from ropuf.gateware.crypto.p256_alu import (
    ADD,
    BIT,
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
    "ENTRIES",
    "INIT",
    "INVERSION_CYCLES",
    "PROGRAM",
    "READABLE",
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

_OPS = {"mul": MUL, "add": ADD, "sub": SUB}


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
        _ins(MUL, "QX", "RX", "ACC"),
        _ins(MUL, "QX", "QX", "ONE"),
        _ins(MUL, "QY", "RY", "ACC"),
        _ins(MUL, "QY", "QY", "ONE"),
        _ins(STOP),
    ]
    return code


def _signature(entry):
    n = {"mod": 1}
    code = [
        _ins(ADD, "QX", "QX", "ZERO", **n),  # r = x mod n (x < p < 2n)
        _ins(MUL, "t0", "QX", "R2_N", **n),  # r R
        _ins(MUL, "t1", "D", "R2_N", **n),  # d R
        _ins(MUL, "t1", "t0", "t1", **n),  # r d R
        _ins(MUL, "t2", "H", "R2_N", **n),  # z R
        _ins(ADD, "t2", "t2", "t1", **n),  # (z + r d) R
        _ins(MUL, "t3", "K", "R2_N", **n),  # k R
        _ins(MUL, "ACC", "R2_N", "ONE", **n),  # R mod n: Montgomery 1
    ]
    code += _power("t3", "EXP_N", entry + len(code), mod=1)  # k^-1 R
    code += [
        _ins(MUL, "t4", "ACC", "t2", **n),  # s R
        _ins(MUL, "QY", "t4", "ONE", **n),  # s
        _ins(STOP),
    ]
    return code


def _clear():
    constants = set(_CONSTANTS)
    return [_ins(SEL, name, "ZERO", "ZERO") for name in REGISTER if name not in constants] + [
        _ins(STOP)
    ]


SCALAR_MULT = _scalar_mult(0)
SIGNATURE = _signature(len(SCALAR_MULT))
CLEAR = _clear()

#: The engine's ROM: the three routines, and where each starts.
PROGRAM = SCALAR_MULT + SIGNATURE + CLEAR
ENTRIES = {
    "scalar_mult": 0,
    "signature": len(SCALAR_MULT),
    "clear": len(SCALAR_MULT) + len(SIGNATURE),
}

#: The registers the engine's read port shows (``P256ALU(PROGRAM, INIT, readable=READABLE)``):
#: the results. K, D, H and every intermediate value read as 0.
READABLE = (REGISTER["QX"], REGISTER["QY"])

#: Clock cycles of each routine, from its start to its STOP, whatever the data.
SCALAR_MULT_CYCLES = cycles(PROGRAM, ENTRIES["scalar_mult"])
SIGNATURE_CYCLES = cycles(PROGRAM, ENTRIES["signature"])
CLEAR_CYCLES = cycles(PROGRAM, ENTRIES["clear"])

#: Clock cycles of one inversion by Fermat inside a routine (SETC and the 256-step loop).
INVERSION_CYCLES = cycles([*_power("RZ", "EXP_P", 0, mod=0), _ins(STOP)]) - op_cycles(STOP)
