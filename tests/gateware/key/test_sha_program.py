"""The key engine's SHA-256 program on a Python interpreter of its operations: the identity's
entries give RFC 6979 A.2.5's nonces for its key, and the expansion of the identity key is
:mod:`ropuf.spec.identity`'s (the gateware runs the same program: test_identity_verilator.py)."""

import hashlib
import hmac

import pytest

from ropuf.gateware.key.record import MemoryMap
from ropuf.gateware.key.sha_program import IPAD, OPAD, Op, compile_program
from ropuf.spec import identity
from ropuf.spec.kdf_labels import IDENTITY_LABEL
from ropuf.spec.p256 import N

from .test_engine import CODE, N_RO

#: RFC 6979 A.2.5: the P-256 key and the SHA-256 nonces of "sample" and "test".
RFC_KEY = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
RFC_NONCES = {
    b"sample": 0xA6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60,
    b"test": 0xD16B6AE827F17175E040871A1C7EC3500192C4C92677336EC2537ACAEE0008E0,
}


def run(program, memory: bytearray, entry: str) -> None:
    """Run *entry* of *program* on *memory* as the program runner does (no decoder: the
    identity's entries do not read it)."""
    pc, message, digest = program.entries[entry], b"", b""
    while True:
        op = program.ops[pc]
        kind, addr, length = op["op"], op.get("addr", 0), op.get("length", 0)
        pc += 1
        if kind == Op.MEM:
            message += bytes(memory[addr : addr + length])
        elif kind == Op.KEYPAD:
            pad = OPAD if op["opad"] else IPAD
            key = bytes(memory[addr : addr + 32]) + bytes(32)
            message += bytes(b ^ pad for b in key)
        elif kind == Op.DIGEST:
            digest, message = hashlib.sha256(message).digest(), b""
        elif kind == Op.WRITE:
            memory[addr : addr + length] = digest[:length]
        elif kind in (Op.ZERO, Op.ZERO_IF_BAD):
            memory[addr : addr + length] = bytes(length)
        elif kind == Op.STOP:
            return
        else:
            raise AssertionError(f"operation {kind!r} in an identity entry")


@pytest.fixture(scope="module")
def program():
    layout = MemoryMap(CODE, N_RO, identity=True)
    compiled = compile_program(layout)
    memory = bytearray(compiled.depth)
    memory[compiled.rom_base :] = compiled.rom
    return layout, compiled, memory


@pytest.mark.parametrize("message", sorted(RFC_NONCES))
def test_drbg_entry_gives_rfc6979_a25_nonces(program, message):
    layout, compiled, memory = program
    s = layout.slot
    h = hashlib.sha256(message).digest()
    memory[s("IDKEY") : s("IDKEY") + 32] = RFC_KEY.to_bytes(32, "big")
    # The sequencer stores h mod n in H1 before the DRBG (bits2octets).
    memory[s("H1") : s("H1") + 32] = (int.from_bytes(h, "big") % N).to_bytes(32)
    for suffix in ("", "2"):  # the two runs, each in its own slots
        v, k = s(f"RV{suffix}"), s(f"RK{suffix}")
        run(compiled, memory, f"drbg{suffix}")
        assert int.from_bytes(memory[v : v + 32], "big") == RFC_NONCES[message]
        assert memory[k : k + 32] == bytes(32)  # the DRBG's key cleared
        assert memory[s("TMP") : s("TMP") + 32] == bytes(32)
        run(compiled, memory, f"wipe{suffix}")
        assert memory[v : v + 32] == bytes(32)


def test_sign_attest_entry_is_the_attestation_digest(program):
    layout, compiled, memory = program
    s = layout.slot
    record, nonce = bytes(range(50)), bytes(range(100, 132))
    memory[s("HREC") : s("HREC") + 32] = hashlib.sha256(record).digest()
    memory[s("NONCE") : s("NONCE") + 32] = nonce
    run(compiled, memory, "sign_attest")
    assert memory[s("H1") : s("H1") + 32] == identity.attestation_digest(record, nonce)


def test_derivation_writes_the_identity_expansion():
    # The derivation's identity part (the HMACs after the attestation key) leaves c twice, in
    # RV, RK and in RV2, RK2 (two expansions, which the sequencer compares through d).
    layout = MemoryMap(CODE, N_RO, identity=True)
    compiled = compile_program(layout)
    s = layout.slot
    master = bytes(range(1, 33))
    t1 = hmac.digest(master, IDENTITY_LABEL + b"\x01", "sha256")
    t2 = hmac.digest(master, t1 + IDENTITY_LABEL + b"\x02", "sha256")
    # The ops from the first HMAC keyed with MASTER after AKEY's write, to the write of RK2.
    ops = compiled.ops
    start = (
        next(i for i, op in enumerate(ops) if op["op"] == Op.WRITE and op["addr"] == s("AKEY")) + 1
    )
    end = next(i for i, op in enumerate(ops) if op["op"] == Op.WRITE and op["addr"] == s("RK2"))
    part = type(compiled)([*ops[start : end + 1], {"op": Op.STOP}], {"part": 0},
                          compiled.rom, compiled.rom_base)  # fmt: skip
    memory = bytearray(compiled.depth)
    memory[compiled.rom_base :] = compiled.rom
    memory[s("MASTER") : s("MASTER") + 32] = master
    run(part, memory, "part")
    c = bytes(memory[s("RV") : s("RV") + 40])
    assert c == (t1 + t2)[: identity.C_BYTES]
    assert bytes(memory[s("RV2") : s("RV2") + 40]) == c
    assert int.from_bytes(c, "big") % (N - 1) + 1 == identity.identity_scalar(master)
    # Without the identity, the program has none of it.
    plain = compile_program(MemoryMap(CODE, N_RO))
    assert set(plain.entries) == {"derive", "attest"} and plain.depth < compiled.depth
