"""The key engine's SHA-256 message program and its compiler.

RECONSTRUCT's derivation and ATTEST run as a fixed list of operations on the engine's memory and
one SHA-256 core; the list is the same whatever the data, so its cycle count is constant. It
follows :mod:`ropuf.spec.kdf_labels` and :mod:`ropuf.spec.attestation` exactly (HMAC with a
32-byte key: ``SHA((K || 0^32) ^ opad || SHA((K || 0^32) ^ ipad || m))``)::

    HBODY  = SHA(body)
    MASTER = SHA("ropuf master v1" 0x00 || HBODY || SECRET)
    check    HMAC(MASTER, "ropuf kcv" 0x01)[:8] == the record's key-check value
    AKEY   = HMAC(MASTER, "ropuf attest" 0x01)
    HREC   = SHA(record)
    ATTEST: MAC = HMAC(AKEY, "ropuf attest v1" 0x00 || HREC || NONCE)

With the identity (:mod:`ropuf.spec.identity`; the engine's :mod:`.identity` sequencer starts
the entries and moves values to and from the P-256 engine), the derivation also writes d's
40 bytes of expansion, and more entries run::

    RV || RK[:8] = HMAC(MASTER, "ropuf identity" 0x01) || HMAC(MASTER, T1 || "ropuf identity" 0x02)
    RV2 || RK2[:8] = the same, computed again (the sequencer derives d from each and compares)
    identity_finish: clear RV, RK, RV2, RK2; clear IDKEY if the key check failed
    sign_attest: H1 = SHA("ropuf sign v1" 0^3 || HREC || NONCE)
    drbg (RFC 6979 3.2 b-h, one candidate): RK = HMAC(0^32, 1^32 || 0x00 || IDKEY || H1),
        RV = HMAC(RK, 1^32), RK = HMAC(RK, RV || 0x01 || IDKEY || H1), RV = HMAC(RK, RV),
        RV = HMAC(RK, RV) (k's candidate); RK and TMP cleared
    wipe: clear RV (once the sequencer has loaded k)
    drbg2, wipe2: the same in RV2, RK2 (the second k, for VERIFY's comparison)

The key is kept only when the decoder succeeded and the key-check value matches; otherwise the
attestation-key slot is cleared (in the same cycles). SECRET, MASTER and TMP are cleared at the
end either way.
"""

from dataclasses import dataclass
from enum import IntEnum

from amaranth.lib import data

from ropuf.spec import attestation, identity, kdf_labels
from ropuf.spec.helper_data import KCV_BYTES

from .record import MemoryMap

__all__ = ["IPAD", "OPAD", "Op", "OpLayout", "Program", "compile_program"]

IPAD, OPAD = 0x36, 0x5C

# The constants the program hashes: in the engine's memory, after the slots.
_CONSTANTS = {
    "master": kdf_labels.MASTER_LABEL + b"\x00",
    "kcv": kdf_labels.KCV_LABEL + b"\x01",
    "akey": kdf_labels.ATTEST_LABEL + b"\x01",
    "attest": attestation.ATTEST_LABEL,
}
# The identity's (:mod:`ropuf.spec.identity`).
_IDENTITY_CONSTANTS = {
    "id1": kdf_labels.IDENTITY_LABEL + b"\x01",
    "id2": kdf_labels.IDENTITY_LABEL + b"\x02",
    "sign": identity.SIGN_ATTEST_LABEL,
    "ones": b"\x01" * 32,  # RFC 6979's first V; its first byte is the 0x01 separator
    "zeros": bytes(32),  # RFC 6979's first K; its first byte is the 0x00 separator
}


class Op(IntEnum):
    """Program operations."""

    MEM = 0  # hash `length` memory bytes from `addr`
    KEYPAD = 1  # hash the 32-byte key at `addr`, zero-padded to 64, XOR ipad (opad if `opad`)
    # The next reads come from the SHA-256 digest (DIGEST) or the decoder's message (SECRET),
    # a byte at a time where the core holds it; the last byte WRITE or CHECK reads takes it.
    DIGEST = 3  # wait for the SHA-256 digest; read from it
    SECRET = 4  # wait for the decoder's result, keep its failure flag; read its message
    WRITE = 5  # write the next `length` bytes read to `addr`
    ZERO = 6  # clear `length` bytes at `addr`
    ZERO_IF_BAD = 7  # the same when the decoder failed or the key check did not match
    CHECK = 8  # compare `length` bytes at `addr` with the next bytes read
    STOP = 9  # end of the program: answer


OpLayout = data.StructLayout({"op": 4, "addr": 11, "length": 11, "opad": 1, "last": 1})


@dataclass(frozen=True)
class Program:
    """The derivation program (from 0), the attestation program (the last, from
    ``entries["attest"]``) and the identity's (with the identity) in one list of operations,
    and the constants they hash (``rom``), which the engine's memory holds from ``rom_base``
    (the program hashes them with MEM operations)."""

    ops: list[dict]
    entries: dict[str, int]
    rom: bytes
    rom_base: int

    def entry_number(self, name: str) -> int:
        """The number the runner's ``entry`` input takes for entry *name*."""
        return list(self.entries).index(name)

    @property
    def depth(self) -> int:
        """Bytes of memory the program uses: the memory map's, then the constants."""
        return self.rom_base + len(self.rom)


def compile_program(layout: MemoryMap) -> Program:
    """The derivation program from 0, the identity's entries if ``layout.identity``, and the
    attestation program (the last)."""
    rom = b""
    where = {}
    constants = {**_CONSTANTS, **(_IDENTITY_CONSTANTS if layout.identity else {})}
    for name, value in constants.items():
        where[name] = (len(rom), len(value))
        rom += value
    s = layout.slot
    secret_bytes = layout.params.message_bytes
    ops: list[dict] = []

    def msg(*segments):
        for i, (op, addr, length, *pad) in enumerate(segments):
            ops.append(
                {
                    "op": op,
                    "addr": addr,
                    "length": length,
                    "opad": int(bool(pad and pad[0])),
                    "last": int(i == len(segments) - 1),
                }
            )
        ops.append({"op": Op.DIGEST})

    def const(name, length=None):
        offset, full = where[name]
        return (Op.MEM, layout.depth + offset, full if length is None else length)

    def hmac(key_slot, *segments, key=None):
        key = s(key_slot) if key is None else key
        msg((Op.KEYPAD, key, 64, 0), *segments)
        ops.append({"op": Op.WRITE, "addr": s("TMP"), "length": 32})
        msg((Op.KEYPAD, key, 64, 1), (Op.MEM, s("TMP"), 32))

    def write(slot, length=32):
        ops.append({"op": Op.WRITE, "addr": s(slot), "length": length})

    def zero(slot):
        ops.append({"op": Op.ZERO, "addr": s(slot), "length": 32})

    entries = {"derive": 0}

    ops.append({"op": Op.SECRET})
    ops.append({"op": Op.WRITE, "addr": s("SECRET"), "length": secret_bytes})
    msg((Op.MEM, 0, layout.kcv))  # the body: the record up to the key-check value
    ops.append({"op": Op.WRITE, "addr": s("HBODY"), "length": 32})
    msg(const("master"), (Op.MEM, s("HBODY"), 32), (Op.MEM, s("SECRET"), secret_bytes))
    ops.append({"op": Op.WRITE, "addr": s("MASTER"), "length": 32})
    hmac("MASTER", const("kcv"))
    ops.append({"op": Op.CHECK, "addr": layout.kcv, "length": KCV_BYTES})
    hmac("MASTER", const("akey"))
    ops.append({"op": Op.WRITE, "addr": s("AKEY"), "length": 32})
    if layout.identity:  # d's 40 bytes, twice: T1 in RV, T2's first 8 bytes in RK; RV2, RK2
        for v, k in (("RV", "RK"), ("RV2", "RK2")):
            hmac("MASTER", const("id1"))
            write(v)
            hmac("MASTER", (Op.MEM, s(v), 32), const("id2"))
            write(k, 8)
    msg((Op.MEM, 0, layout.record))
    ops.append({"op": Op.WRITE, "addr": s("HREC"), "length": 32})
    for name in ("SECRET", "MASTER", "TMP"):
        ops.append({"op": Op.ZERO, "addr": s(name), "length": 32})
    ops.append({"op": Op.ZERO_IF_BAD, "addr": s("AKEY"), "length": 32})
    ops.append({"op": Op.STOP})

    if layout.identity:
        entries["identity_finish"] = len(ops)
        for slot in ("RV", "RK", "RV2", "RK2"):
            zero(slot)
        ops.append({"op": Op.ZERO_IF_BAD, "addr": s("IDKEY"), "length": 32})
        ops.append({"op": Op.STOP})

        entries["sign_attest"] = len(ops)
        msg(const("sign"), (Op.MEM, s("HREC"), 32), (Op.MEM, s("NONCE"), 32))
        write("H1")
        ops.append({"op": Op.STOP})

        # RFC 6979's DRBG twice, each run in its own slots and program words (VERIFY compares
        # the two k): one fault cannot change both alike.
        x_h1 = ((Op.MEM, s("IDKEY"), 32), (Op.MEM, s("H1"), 32))
        zeros = layout.depth + where["zeros"][0]
        for suffix in ("", "2"):
            v, k = f"RV{suffix}", f"RK{suffix}"
            entries[f"drbg{suffix}"] = len(ops)
            hmac(None, const("ones"), const("zeros", 1), *x_h1, key=zeros)
            write(k)
            hmac(k, const("ones"))
            write(v)
            hmac(k, (Op.MEM, s(v), 32), const("ones", 1), *x_h1)
            write(k)
            for _ in range(2):
                hmac(k, (Op.MEM, s(v), 32))
                write(v)
            zero(k)
            zero("TMP")
            ops.append({"op": Op.STOP})

            entries[f"wipe{suffix}"] = len(ops)
            zero(v)
            ops.append({"op": Op.STOP})

    entries["attest"] = len(ops)
    hmac("AKEY", const("attest"), (Op.MEM, s("HREC"), 32), (Op.MEM, s("NONCE"), 32))
    ops.append({"op": Op.ZERO, "addr": s("TMP"), "length": 32})
    ops.append({"op": Op.STOP})
    return Program(ops, entries, rom, layout.depth)
