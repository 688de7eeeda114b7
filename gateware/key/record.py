"""The key engine's memory map and the check of a helper-data record on the fabric.

Memory (8 bits wide)::

    0 .. L-1        the helper-data record (LOAD_HELPER writes it, L = HelperData.total_length)
    slots, 32 bytes each, from the first multiple of 32 at or after L:
        HREC    SHA-256 of the record (the attestation context)
        HBODY   SHA-256 of the record's body (the key-derivation input)
        SECRET  the decoded message, packed MSB-first (ceil(k / 8) bytes)
        MASTER  the master key
        TMP     inner HMAC digests
        AKEY    the attestation key
        NONCE   the verifier's nonce (and SIGN's attestation nonce)
    with the identity (:mod:`.identity`), six more:
        IDKEY   the identity private key d, big-endian
        H1      the digest SIGN signs, then that digest modulo n (RFC 6979's bits2octets)
        RV, RK  RFC 6979's V and K (the DRBG's state; RV ends holding k, until wiped); at
                RECONSTRUCT, d's 40 bytes of expansion (RV and the first 8 bytes of RK)
        RV2, RK2  the same for the DRBG's second run (VERIFY's K2) and the expansion's second
                computation: other cells, other program words, so one fault cannot change
                both alike
    then the constants the SHA-256 program hashes (:mod:`.sha_program`), from ``depth``

IDENTITY's and SIGN's answer (x, y or r, s: 64 bytes) is not in this memory: the identity
sequencer stores it at :data:`ANSWER` and up, past the memory's end, which the key engine maps
to a 64-byte answer buffer of its own, the only thing IDENTITY's and SIGN's answer is read
from. No address that reads the answer can reach a secret, however it is glitched.

The record's field offsets are :class:`ropuf.spec.helper_data.RecordLayout`'s, the definition the
host's parser reads too.

:class:`RecordCheck` validates a record byte by byte, as RECONSTRUCT's first phase reads it:
header bytes equal this build's (magic, version, length, code parameters, pairing, flags, RO
count), padding bits clear, CRC-32 equal to the stored one. The pair list's order and
disjointness are not checked here: the record is bound into the key, so a changed list gives
another key and KEY_CHECK_FAILED (the host's parser refuses a malformed list before it is sent).
"""

from dataclasses import dataclass

from amaranth.hdl import Array, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ropuf.gateware.crypto.crc32 import SerialCRC32
from ropuf.spec.helper_data import CRC_BYTES, HelperData, RecordLayout

__all__ = ["ANSWER", "ANSWER_BYTES", "IDENTITY_SLOTS", "SLOTS", "MemoryMap", "RecordCheck"]

#: Slot names, in memory order; the last :data:`IDENTITY_SLOTS` only with the identity.
SLOTS = (
    "HREC", "HBODY", "SECRET", "MASTER", "TMP", "AKEY", "NONCE",
    "IDKEY", "H1", "RV", "RK", "RV2", "RK2",
)  # fmt: skip
IDENTITY_SLOTS = 6
#: Bytes of IDENTITY's and SIGN's answer buffer (x || y, or r || s).
ANSWER_BYTES = 64
#: The answer buffer's first address in the identity sequencer's 11-bit address space, past
#: every memory the engine builds (the memory with the identity ends below it).
ANSWER = 2**11 - ANSWER_BYTES


@dataclass(frozen=True)
class MemoryMap(RecordLayout):
    """Where things are in the key engine's memory for a code (see the module notes): the
    record's fields (:class:`~ropuf.spec.helper_data.RecordLayout`), then the slots."""

    n_ro: int
    #: The identity's slots too (:mod:`.identity`).
    identity: bool = False

    @property
    def record(self) -> int:
        """Bytes of the record, which starts at address 0."""
        return self.length

    def slot(self, name: str) -> int:
        return (self.record + 31) // 32 * 32 + 32 * SLOTS.index(name)

    @property
    def depth(self) -> int:
        slots = SLOTS if self.identity else SLOTS[:-IDENTITY_SLOTS]
        return self.slot(slots[-1]) + 32

    def header(self) -> bytes:
        """The first bytes every valid record of this build starts with."""
        return HelperData.header(self.params, self.n_ro)


class RecordCheck(wiring.Component):
    """Checks a record offered byte by byte, in address order (see the module notes).

    Parameters
    ----------
    mm : MemoryMap
        The build's code and RO count.

    Attributes
    ----------
    clear : In(1)
        Start a new record: the findings so far and the CRC are dropped at the next clock edge
        (not while ``valid``).
    valid : In(1)
        ``byte`` is the record's byte at ``index`` (offer 0 .. record - 1, in order, each held
        until ``ready``).
    index : In(16)
    byte : In(8)
    ready : Out(1)
        The offered byte is taken in this cycle: a byte the CRC covers is taken in the eighth
        cycle it is offered (:class:`~ropuf.gateware.crypto.crc32.SerialCRC32`), a stored CRC
        byte at once. The cycles depend on the index only, never on the data.
    ok : Out(1)
        After the last byte: every check passed.
    """

    clear: In(1)
    valid: In(1)
    index: In(16)
    byte: In(8)
    ready: Out(1)
    ok: Out(1)

    def __init__(self, mm: MemoryMap):
        self.map = mm
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        mm = self.map
        code = mm.params
        # The engine offers indices below mm.record only: compare just the bits that takes.
        index, byte = self.index[: (mm.record - 1).bit_length()], self.byte

        m.submodules.crc = crc = SerialCRC32()
        header = mm.header()
        header_rom = Array(Const(b, 8) for b in header)
        bad = Signal()
        m.d.comb += self.ok.eq(~bad)

        with m.If(self.clear):
            m.d.sync += bad.eq(0)
        covered = index < mm.record - CRC_BYTES  # the CRC covers the byte
        m.d.comb += [
            crc.start.eq(self.clear),
            crc.i_stream.valid.eq(self.valid & covered),
            crc.i_stream.payload.eq(byte),
            self.ready.eq(~covered | crc.i_stream.ready),
        ]
        with m.If(self.valid & self.ready):
            with m.If(index < len(header)):
                with m.If(byte != header_rom[index[: (len(header) - 1).bit_length()]]):
                    m.d.sync += bad.eq(1)
            for last_byte, bits in (
                (mm.offset - 1, code.selected_bits * code.pairing.pair_bits),
                (mm.offset + mm.offset_bytes - 1, code.selected_bits),
            ):
                if bits % 8:
                    with m.If((index == last_byte) & (byte[: 8 - bits % 8] != 0)):
                        m.d.sync += bad.eq(1)
            # The CRC over everything before the stored CRC, then compared with it.
            with m.If(~covered):
                stored = crc.crc.word_select((mm.record - 1 - index)[:2], 8)
                with m.If(byte != stored):
                    m.d.sync += bad.eq(1)
        return m
