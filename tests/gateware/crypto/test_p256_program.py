"""The P-256 program on the engine's instruction model (:func:`p256_alu.run_model`): k * G
against ``cryptography``, the RFC 6979 A.2.5 and NIST FIPS 186-3 SigGen signatures, the fixed
cycle counts, injected faults. The gateware
runs the same program in ``test_p256_verilator.py``; ``test_p256_alu.py`` checks each instruction
of the gateware against the model's arithmetic."""

import dataclasses
import hashlib
import os

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography_vectors import open_vector_file

from ropuf.gateware.crypto import p256_alu
from ropuf.gateware.crypto.p256_alu import ADD, MUL, REGISTERS, SUB, Instruction, run_model
from ropuf.gateware.crypto.p256_program import (
    CLEAR_CYCLES,
    DERIVE_CYCLES,
    ENTRIES,
    IDENTITY_CYCLES,
    INIT,
    PROGRAM,
    PUBLIC_CYCLES,
    REGISTER,
    SCALAR_MULT_CYCLES,
    SIG_R,
    SIG_S,
    SIGNATURE_CYCLES,
    VERIFY_CYCLES,
)
from ropuf.spec.p256 import N, P

#: RFC 6979 A.2.5: the P-256 private key, and the nonce and signature of SHA-256("sample").
RFC6979_KEY = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
RFC6979_SAMPLE = {
    "k": 0xA6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60,
    "r": 0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716,
    "s": 0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8,
}


def public_point(d):
    numbers = ec.derive_private_key(d, ec.SECP256R1()).public_key().public_numbers()
    return numbers.x, numbers.y


#: RFC 6979 A.2.5, SHA-256 "test": the nonce and the signature.
RFC6979_TEST = {
    "k": 0xD16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0,
    "r": 0xF1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367,
    "s": 0x019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083,
}


def nist_siggen_p256_sha256():
    """FIPS 186-3 SigGen vectors for [P-256,SHA-256] (cryptography-vectors): dicts of ints
    ``d``, ``Qx``, ``Qy``, ``k``, ``R``, ``S`` and the message's SHA-256 ``digest``."""
    with open_vector_file(
        os.path.join("asymmetric", "ECDSA", "FIPS_186-3", "SigGen.txt"), "r"
    ) as f:
        lines = f.read().splitlines()
    vectors, section, record = [], None, {}
    for line in [*lines, ""]:
        line = line.strip()
        if line.startswith("["):
            section = line
        elif "=" in line and section == "[P-256,SHA-256]":
            name, _, value = line.partition("=")
            record[name.strip()] = value.strip()
        elif not line and record:
            digest = hashlib.sha256(bytes.fromhex(record.pop("Msg"))).digest()
            vectors.append({"digest": digest, **{k: int(v, 16) for k, v in record.items()}})
            record = {}
    return vectors


def test_nist_siggen_vectors():
    vectors = nist_siggen_p256_sha256()
    assert len(vectors) == 15
    for v in vectors:
        registers = fresh_registers(K=v["d"])
        assert run_model(PROGRAM, registers, ENTRIES["scalar_mult"])[1] is False
        assert (registers[REGISTER["QX"]], registers[REGISTER["QY"]]) == (v["Qx"], v["Qy"])
        z = int.from_bytes(v["digest"])
        registers = fresh_registers(K=v["k"], D=v["d"], H=z)
        run_model(PROGRAM, registers, ENTRIES["scalar_mult"])
        assert run_model(PROGRAM, registers, ENTRIES["signature"]) == (SIGNATURE_CYCLES, False)
        assert (registers[SIG_R], registers[SIG_S]) == (v["R"], v["S"])


def fresh_registers(**values):
    registers = list(INIT) + [0] * (REGISTERS - len(INIT))
    for name, value in values.items():
        registers[REGISTER[name]] = value
    return registers


@pytest.mark.parametrize("k", [1, 2, 3, N - 1, N - 2, 2**255 + 19, 0xC0FFEE], ids=hex)
def test_scalar_mult_matches_cryptography(k):
    registers = fresh_registers(K=k)
    assert run_model(PROGRAM, registers, ENTRIES["scalar_mult"]) == (SCALAR_MULT_CYCLES, False)
    assert (registers[REGISTER["QX"]], registers[REGISTER["QY"]]) == public_point(k)


@pytest.mark.parametrize("message, vector", [(b"sample", RFC6979_SAMPLE), (b"test", RFC6979_TEST)])
def test_rfc6979_signatures(message, vector):
    z = int.from_bytes(hashlib.sha256(message).digest())
    registers = fresh_registers(K=vector["k"], D=RFC6979_KEY, H=z)
    run_model(PROGRAM, registers, ENTRIES["scalar_mult"])
    assert run_model(PROGRAM, registers, ENTRIES["signature"]) == (SIGNATURE_CYCLES, False)
    assert (registers[SIG_R], registers[SIG_S]) == (vector["r"], vector["s"])


def test_cycles_do_not_depend_on_the_data():
    # The program branches on the loop counter only: its count is a property of the program.
    assert p256_alu.cycles(PROGRAM, ENTRIES["scalar_mult"]) == SCALAR_MULT_CYCLES
    assert not any(i.op == p256_alu.LOOP and i.target >= len(PROGRAM) for i in PROGRAM)
    public = ec.derive_private_key(RFC6979_KEY, ec.SECP256R1()).public_key().public_numbers()
    registers = fresh_registers(K=RFC6979_KEY)
    assert run_model(PROGRAM, registers, 0) == (SCALAR_MULT_CYCLES, False)
    assert registers[REGISTER["QX"]] == public.x


def test_scalar_zero_gives_the_point_at_infinity_as_zeros_and_a_fault():
    registers = fresh_registers(K=0)
    assert run_model(PROGRAM, registers, 0)[1]
    assert registers[REGISTER["QX"]] == registers[REGISTER["QY"]] == 0


def _index(start, op, dst, a, b, mod=0):
    """The first instruction from *start* with these fields (register names)."""
    wanted = Instruction(op, REGISTER[dst], REGISTER[a], REGISTER[b], mod=mod)
    return PROGRAM.index(wanted, start)


def _signature_with(program):
    z = int.from_bytes(hashlib.sha256(b"sample").digest())
    registers = fresh_registers(K=RFC6979_SAMPLE["k"], D=RFC6979_KEY, H=z)
    _, fault = run_model(program, registers, ENTRIES["scalar_mult"])
    assert len(program) == len(PROGRAM)
    return fault, run_model(program, registers, ENTRIES["signature"], fault)[1]


# Faults: one instruction computes a wrong value once (a different modulus, an operand read
# from another register), as a glitch would. Each must set the flag.
SIG = ENTRIES["signature"]
FAULTS = {
    "ladder step": (_index(0, SUB, "UY", "UY", "t2"), {"op": ADD}),
    "inversion mod p": (_index(0, MUL, "TMP", "ACC", "RZ"), {"b": REGISTER["RY"]}),
    "x out": (_index(0, MUL, "QX", "RX", "ACC"), {"b": REGISTER["ONE_P"]}),
    "r": (_index(SIG, ADD, "QX", "QX", "ZERO", mod=1), {"b": REGISTER["ONE"]}),
    "r d": (_index(SIG, MUL, "t2", "t0", "t2", mod=1), {"mod": 0}),
    "k R": (_index(SIG, MUL, "t3", "K", "R2_N", mod=1), {"a": REGISTER["D"]}),
    "inversion mod n": (_index(SIG, MUL, "TMP", "ACC", "t3", mod=1), {"mod": 0}),
    "s R": (_index(SIG, MUL, "t4", "ACC", "t2", mod=1), {"b": REGISTER["t1"]}),
    "s out": (_index(SIG, MUL, "QY", "t4", "ONE", mod=1), {"mod": 0}),
}


@pytest.mark.parametrize("name", FAULTS)
def test_a_faulty_computation_sets_the_flag(name):
    index, changes = FAULTS[name]
    program = list(PROGRAM)
    program[index] = dataclasses.replace(program[index], **changes)
    assert _signature_with(PROGRAM) == (False, False)
    after_mult, after_signature = _signature_with(program)
    assert after_signature, f"a fault in {name} went unnoticed"
    assert after_mult == (index < SIG)


def test_clear_zeroes_everything_but_the_constants_and_the_public_key():
    registers = with_public(RFC6979_KEY)
    kept = {name: registers[REGISTER[name]] for name in ("QPX", "QPY", "GQX", "GQY")}
    registers[REGISTER["K"]], registers[REGISTER["D"]] = RFC6979_SAMPLE["k"], RFC6979_KEY
    run_model(PROGRAM, registers, ENTRIES["scalar_mult"])
    run_model(PROGRAM, registers, ENTRIES["signature"])
    assert run_model(PROGRAM, registers, ENTRIES["clear"]) == (CLEAR_CYCLES, False)
    assert registers == fresh_registers(**kept)


@pytest.mark.parametrize(
    "c", [0, 1, N - 2, N - 1, N, 2 * N - 2, 2**320 - 1, 0x1234 << 300], ids=hex
)
def test_derive_is_fips_a21(c):
    # d = (c mod (n - 1)) + 1 from c's top 64 bits in U1 and its low 256 in K, to QX.
    registers = fresh_registers(U1=c >> 256, K=c % 2**256)
    assert run_model(PROGRAM, registers, ENTRIES["derive"], True) == (DERIVE_CYCLES, False)
    assert registers[REGISTER["QX"]] == c % (N - 1) + 1


@pytest.mark.parametrize("h", [0, 1, N - 1, N, N + 1, 2**256 - 1], ids=hex)
def test_reduce_takes_the_digest_modulo_n(h):
    registers = fresh_registers(H=h)
    assert run_model(PROGRAM, registers, ENTRIES["reduce"], True)[1] is False
    assert registers[REGISTER["H"]] == h % N


@pytest.mark.parametrize(
    ("k", "fault"), [(1, False), (N - 1, False), (N, True), (N + 5, True), (2**256 - 1, True)]
)
def test_nonce_check_refuses_a_nonce_not_below_n(k, fault):
    registers = fresh_registers(K=k)
    assert run_model(PROGRAM, registers, ENTRIES["nonce_check"])[1] is fault
    # The flag stays set through the signature that follows (r, s are not read).
    registers = fresh_registers(K=k % N or 1, D=RFC6979_KEY, H=7)
    run_model(PROGRAM, registers, ENTRIES["scalar_mult"])
    registers[REGISTER["K"]] = k
    _, flag = run_model(PROGRAM, registers, ENTRIES["nonce_check"])
    assert run_model(PROGRAM, registers, ENTRIES["signature"], flag)[1] is fault


# ---- The public key (PUBLIC, IDENTITY) and the verification before release (VERIFY) ----

_R = 2**256


def with_public(d):
    """Registers after RECONSTRUCT's d G and PUBLIC (then CLEAR): Q and G + Q kept."""
    registers = fresh_registers(K=d, D2=d)  # D2: check_derive's d
    assert run_model(PROGRAM, registers, ENTRIES["scalar_mult"])[1] is False
    assert run_model(PROGRAM, registers, ENTRIES["public"]) == (PUBLIC_CYCLES, False)
    run_model(PROGRAM, registers, ENTRIES["clear"])
    return registers


def sign_verified(d, k, z, *, ladder_k=None, signature_inputs=None, again=None, between=None):
    """SIGN's P-256 routines as the sequencer runs them (SCALAR_MULT, NONCE_CHECK, SIGNATURE,
    then K2, D2, H2 loaded again and VERIFY), on registers holding d's public key. Faults:
    *ladder_k* is the K the ladder reads (a flipped selection), *signature_inputs* the K, D, H
    SIGNATURE and VERIFY's comparison read, *again* the K2, D2, H2 loaded again, *between* a
    function that changes the registers before VERIFY. Returns (r, s, the flag after
    SIGNATURE, the flag after VERIFY)."""
    registers = with_public(d)
    for name, value in zip("KDH", (ladder_k if ladder_k is not None else k, d, z), strict=True):
        registers[REGISTER[name]] = value
    _, fault = run_model(PROGRAM, registers, ENTRIES["scalar_mult"])
    for name, value in zip("KDH", signature_inputs or (k, d, z), strict=True):
        registers[REGISTER[name]] = value
    _, fault = run_model(PROGRAM, registers, ENTRIES["nonce_check"], fault)
    _, fault = run_model(PROGRAM, registers, ENTRIES["signature"], fault)
    for name, value in zip(("K2", "D2", "H2"), again or (k, d, z), strict=True):
        registers[REGISTER[name]] = value
    if between:
        between(registers)
    r, s = registers[SIG_R], registers[SIG_S]
    cycles, verified = run_model(PROGRAM, registers, ENTRIES["verify"], fault)
    assert cycles == VERIFY_CYCLES
    assert (registers[SIG_R], registers[SIG_S]) == (r, s)
    return r, s, fault, verified


def test_public_keeps_q_and_g_plus_q():
    registers = with_public(RFC6979_KEY)
    qx, qy = public_point(RFC6979_KEY)
    assert (registers[REGISTER["QPX"]], registers[REGISTER["QPY"]]) == (qx, qy)
    # G + Q against cryptography: (d + 1) G.
    gq = public_point(RFC6979_KEY + 1)
    assert registers[REGISTER["GQX"]] == gq[0] * _R % P
    assert registers[REGISTER["GQY"]] == gq[1] * _R % P


def test_identity_reads_q_and_checks_it_on_the_curve():
    registers = with_public(RFC6979_KEY)
    assert run_model(PROGRAM, registers, ENTRIES["identity"]) == (IDENTITY_CYCLES, False)
    assert (registers[REGISTER["QX"]], registers[REGISTER["QY"]]) == public_point(RFC6979_KEY)
    registers[REGISTER["QPY"]] ^= 1 << 77  # a fault in the kept key since RECONSTRUCT
    assert run_model(PROGRAM, registers, ENTRIES["identity"])[1] is True


@pytest.mark.parametrize("vector", [*nist_siggen_p256_sha256()[:4], None], ids=str)
def test_a_good_signature_passes_verification(vector):
    if vector is None:
        v = {"d": RFC6979_KEY, "digest": hashlib.sha256(b"sample").digest(), **RFC6979_SAMPLE}
        v["R"], v["S"] = v["r"], v["s"]
    else:
        v = vector
    z = int.from_bytes(v["digest"]) % N
    r, s, after_signature, verified = sign_verified(v["d"], v["k"], z)
    assert (r, s, after_signature, verified) == (v["R"], v["S"], False, False)


def _flip(value, bit):
    return value ^ (1 << bit)


K, D, Z = RFC6979_SAMPLE["k"], RFC6979_KEY, int.from_bytes(hashlib.sha256(b"sample").digest())


def test_a_flipped_ladder_step_passes_the_signature_checks_and_fails_verification():
    # The review's fault: k' G from a flipped selection, s from the true k. SIGNATURE's own
    # checks cannot see it; with RFC 6979 two such signatures of one digest give d.
    *_, after_signature, verified = sign_verified(D, K, Z, ladder_k=_flip(K, 100))
    assert after_signature is False
    assert verified is True


@pytest.mark.parametrize(
    "name, inputs",
    [
        ("k", (_flip(K, 3), D, Z)),  # nonce changed where both computations read it
        ("d", (K, _flip(D, 200), Z)),  # key changed as loaded
        ("z", (K, D, _flip(Z, 0))),  # digest changed as loaded
    ],
)
def test_a_changed_input_is_caught(name, inputs):
    ladder_k = inputs[0]  # a K fault reaches the ladder too
    *_, verified = sign_verified(D, K, Z, ladder_k=ladder_k, signature_inputs=inputs)
    assert verified is True, f"a fault on {name} went unnoticed"


def test_a_key_changed_before_both_loads_fails_verification_against_q():
    # IDKEY changed in memory: D and D2 agree, the signature is one of d' (the nonce too is
    # d''s); Q from RECONSTRUCT refuses it.
    d_bad = _flip(D, 31)
    *_, verified = sign_verified(D, K, Z, signature_inputs=(K, d_bad, Z), again=(K, d_bad, Z))
    assert verified is True


@pytest.mark.parametrize("register, bit", [("QX", 5), ("QY", 250), ("QPX", 9), ("GQY", 1)])
def test_a_changed_result_or_public_key_fails_verification(register, bit):
    def corrupt(registers):
        registers[REGISTER[register]] ^= 1 << bit

    *_, verified = sign_verified(D, K, Z, between=corrupt)
    assert verified is True


def test_verification_cycles_are_constant():
    assert p256_alu.cycles(PROGRAM, ENTRIES["verify"]) == VERIFY_CYCLES
    for d, k, z in ((1, 1, 0), (N - 2, N - 1, 2**256 - 1), (D, K, Z)):
        sign_verified(d, k, z % N)  # asserts the cycles


def test_reconstructs_second_computations_are_compared():
    # check_derive: d from the second expansion (QX) against the first's, loaded back (D),
    # kept in D2; PUBLIC and check_public: K (d as loaded) against D2, and a second
    # SCALAR_MULT's Q against the kept one. Equal passes; one bit off sets the flag.
    registers = with_public(D)
    registers[REGISTER["QX"]], registers[REGISTER["D"]] = D, D
    assert run_model(PROGRAM, registers, ENTRIES["check_derive"])[1] is False
    assert registers[REGISTER["D2"]] == D
    registers[REGISTER["QX"]] = _flip(D, 64)  # c changed in one copy: another d
    assert run_model(PROGRAM, registers, ENTRIES["check_derive"])[1] is True
    registers[REGISTER["D2"]] = D
    for k, routine, fault in [
        (D, "check_public", False),
        (_flip(D, 3), "check_public", True),  # IDKEY changed since check_derive
        (_flip(D, 3), "public", True),
    ]:
        registers[REGISTER["K"]] = k
        run_model(PROGRAM, registers, ENTRIES["scalar_mult"])
        assert run_model(PROGRAM, registers, ENTRIES[routine])[1] is fault, (k, routine)
    # A flipped ladder step in one of the two runs: another Q, with K itself right.
    registers = with_public(D)
    registers[REGISTER["K"]], registers[REGISTER["D2"]] = _flip(D, 3), D
    run_model(PROGRAM, registers, ENTRIES["scalar_mult"])
    registers[REGISTER["K"]] = D
    assert run_model(PROGRAM, registers, ENTRIES["check_public"])[1] is True
