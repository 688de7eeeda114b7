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

The key is kept only when the decoder succeeded and the key-check value matches; otherwise the
attestation-key slot is cleared (in the same cycles). SECRET, MASTER and TMP are cleared at the
end either way.
"""

from dataclasses import dataclass
from enum import IntEnum

from amaranth.lib import data

from ropuf.spec import attestation, kdf_labels
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
    """The derivation program (from 0) and the attestation program (from ``attest_entry``) in
    one list of operations, and the constants they hash (``rom``), which the engine's memory
    holds from ``rom_base`` (the program hashes them with MEM operations)."""

    ops: list[dict]
    attest_entry: int
    rom: bytes
    rom_base: int

    @property
    def depth(self) -> int:
        """Bytes of memory the program uses: the memory map's, then the constants."""
        return self.rom_base + len(self.rom)


def compile_program(layout: MemoryMap) -> Program:
    """The derivation program from 0 and the attestation program from its entry."""
    rom = b""
    where = {}
    for name, value in _CONSTANTS.items():
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

    def const(name):
        offset, length = where[name]
        return (Op.MEM, layout.depth + offset, length)

    def hmac(key_slot, *segments):
        msg((Op.KEYPAD, s(key_slot), 64, 0), *segments)
        ops.append({"op": Op.WRITE, "addr": s("TMP"), "length": 32})
        msg((Op.KEYPAD, s(key_slot), 64, 1), (Op.MEM, s("TMP"), 32))

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
    msg((Op.MEM, 0, layout.record))
    ops.append({"op": Op.WRITE, "addr": s("HREC"), "length": 32})
    for name in ("SECRET", "MASTER", "TMP"):
        ops.append({"op": Op.ZERO, "addr": s(name), "length": 32})
    ops.append({"op": Op.ZERO_IF_BAD, "addr": s("AKEY"), "length": 32})
    ops.append({"op": Op.STOP})

    attest_entry = len(ops)
    hmac("AKEY", const("attest"), (Op.MEM, s("HREC"), 32), (Op.MEM, s("NONCE"), 32))
    ops.append({"op": Op.ZERO, "addr": s("TMP"), "length": 32})
    ops.append({"op": Op.STOP})
    return Program(ops, attest_entry, rom, layout.depth)
