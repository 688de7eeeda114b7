"""The helper-data record: versioned, self-describing, length- and CRC-checked.

Helper data is public. It tells a device which RO pairs to measure, the code offset to undo
and the key-check value to compare with; it is stored off the device and handed back at
reconstruction, so it is parsed defensively: truncation, a bad CRC, an unknown version and
parameters out of range are all caught here, before any decoding.

Byte layout (version 3; integers big-endian; bit strings packed MSB-first, zero-padded)::

    offset  size  field
    0       4     magic b"RPHD"
    4       1     version (3)
    5       2     total length of the record in bytes, CRC included
    7       1     rep            inner repetition length
    8       1     gf_m           BCH field degree
    9       1     t              BCH error capability
    10      2     n              shortened BCH length
    12      1     log2 of the pairing's batch (ROs per batch)
    13      1     log2 of the pairing's pairs per batch
    14      1     soft_width
    15      1     flags: reserved, 0
    16      2     n_ro           RO count of the array the pairs index
    18      P     pair list      n * rep pairs, each its two batch-local RO indices a < b,
                                 log2(batch) bits each (spec.pairing),
                                 P = ceil(n * rep * 2 * log2(batch) / 8)
    18+P    F     code offset    n * rep bits in pair order, F = ceil(n * rep / 8)
    18+P+F  8     key-check value
    26+P+F  4     CRC-32 (zlib) of bytes 0 .. 25+P+F

The *body*, bytes ``0 .. 17+P+F`` (everything before the key-check value), is what the key
derivation hashes (:mod:`ropuf.spec.kdf_labels`): a changed pair list or offset gives another
key, so the key-check value fails and nothing about the response leaks through it.
Version 2 records (neighbour pairs with a mask) are refused with a message saying to enrol
again.

**Design offsets** are not in the record. Every die of a design shares part of its ring
frequencies (placement, routing, the gradients the process repeats); compared in a pair, that
shared part would make the same bit likely on every die (bit-aliasing). The build holds each
RO's design offset (:attr:`ropuf.spec.device_config.DeviceConfig.offsets`, public design data
from a characterisation), and a pair's bit is ``corrected_soft(soft, offset_a - offset_b) >
0``. They are constants of the bitstream: nobody who cannot replace the bitstream can change
them, so they need no binding into the key.
"""

import struct
from dataclasses import dataclass

from .code_params import CodeParams
from .crc import crc32
from .errors import RopufError
from .pairing import RankPairing

__all__ = [
    "HEADER",
    "KCV_BYTES",
    "MAGIC",
    "VERSION",
    "HelperData",
    "HelperDataError",
    "RecordLayout",
    "corrected_soft",
    "pack_bits",
    "unpack_bits",
]

MAGIC = b"RPHD"
VERSION = 3
#: Fixed header after the magic: version, total length, code parameters, pairing, soft width,
#: flags, RO count.
HEADER = struct.Struct(">4sBHBBBHBBBBH")
KCV_BYTES = 8
CRC_BYTES = 4


def corrected_soft(soft: int, threshold: int, soft_width: int) -> int:
    """The soft value the decoder takes: ``soft - threshold``, saturated to
    ``+-(2**(soft_width - 1) - 1)`` as the RO array saturates (gateware and host agree)."""
    limit = 2 ** (soft_width - 1) - 1
    return max(-limit, min(limit, soft - threshold))


@dataclass(frozen=True)
class RecordLayout:
    """Where each field of a record with *params* starts, the one computation of the layout
    above (the parser, the key engine's memory map and the models read it).

    Attributes
    ----------
    pairs, offset, kcv, crc : int
        The byte at which the field starts; the body (what the key derivation hashes) is the
        record up to ``kcv``.
    pairs_bytes, offset_bytes, kcv_bytes, crc_bytes : int
        The field's size in bytes.
    length : int
        Bytes of the whole record, CRC included.
    """

    params: CodeParams

    def __post_init__(self) -> None:
        p = self.params
        at = HEADER.size
        for name, size in (
            ("pairs", p.pairing.list_bytes(p.selected_bits)),
            ("offset", (p.selected_bits + 7) // 8),
            ("kcv", KCV_BYTES),
            ("crc", CRC_BYTES),
        ):
            object.__setattr__(self, name, at)
            object.__setattr__(self, f"{name}_bytes", size)
            at += size
        object.__setattr__(self, "length", at)


class HelperDataError(RopufError):
    """Helper data that cannot be used: truncated, corrupted, of an unknown version, or with
    parameters out of range. The message says which."""


def pack_bits(bits: tuple[int, ...] | list[int]) -> bytes:
    """Bits, MSB-first into bytes, the last byte zero-padded."""
    out = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            out[i >> 3] |= 0x80 >> (i & 7)
    return bytes(out)


def unpack_bits(data: bytes, count: int) -> tuple[int, ...]:
    """The first *count* bits of *data*, MSB-first."""
    return tuple((data[i >> 3] >> (7 - (i & 7))) & 1 for i in range(count))


@dataclass(frozen=True)
class HelperData:
    """One device's helper data.

    Parameters
    ----------
    params : CodeParams
        Code and pairing parameters.
    n_ro : int
        RO count of the array; at least ``params.ros``.
    pairs : tuple of (int, int)
        The ``params.selected_bits`` RO pairs in the canonical order of
        :class:`~ropuf.spec.pairing.RankPairing` (global indices, ``a < b``).
    offset : tuple of int
        ``params.selected_bits`` code-offset bits, in pair order.
    kcv : bytes
        The 8-byte key-check value (zeros while the key is not derived yet).

    Raises
    ------
    HelperDataError
        The fields do not fit each other or the parameters.
    """

    params: CodeParams
    n_ro: int
    pairs: tuple[tuple[int, int], ...]
    offset: tuple[int, ...]
    kcv: bytes = bytes(KCV_BYTES)

    def __post_init__(self) -> None:
        p = self.params
        if not isinstance(p, CodeParams):
            raise HelperDataError(f"params must be a CodeParams, not {p!r}")
        if not isinstance(self.n_ro, int) or not p.ros <= self.n_ro <= 65535:
            raise HelperDataError(
                f"RO count {self.n_ro!r} does not hold the {p.ros} ROs the pairing uses "
                f"(need {p.ros}..65535)"
            )
        pairs = tuple(tuple(pair) for pair in self.pairs)
        if len(pairs) != p.selected_bits:
            raise HelperDataError(f"pair list must hold {p.selected_bits} pairs, not {len(pairs)}")
        try:
            p.pairing.to_local(pairs)
        except (TypeError, ValueError) as error:
            raise HelperDataError(f"Bad pair list: {error}") from None
        object.__setattr__(self, "pairs", pairs)
        if len(self.offset) != p.selected_bits or any(b not in (0, 1) for b in self.offset):
            raise HelperDataError(f"code offset must be {p.selected_bits} bits of 0 or 1")
        if not isinstance(self.kcv, bytes) or len(self.kcv) != KCV_BYTES:
            raise HelperDataError(f"key-check value must be {KCV_BYTES} bytes, not {self.kcv!r}")

    @staticmethod
    def total_length(params: CodeParams) -> int:
        """Bytes of a record with these parameters."""
        return RecordLayout(params).length

    @classmethod
    def header(cls, params: CodeParams, n_ro: int) -> bytes:
        """The fixed header every record of *params* and *n_ro* starts with."""
        p = params
        return HEADER.pack(
            MAGIC,
            VERSION,
            cls.total_length(p),
            p.rep,
            p.gf_m,
            p.t,
            p.n,
            p.pairing.index_bits,
            p.pairing.per_batch.bit_length() - 1,
            p.soft_width,
            0,
            n_ro,
        )

    def body(self) -> bytes:
        """The record up to the key-check value: what the key derivation binds."""
        p = self.params
        header = self.header(p, self.n_ro)
        pair_list = pack_bits(p.pairing.to_bits(self.pairs))
        return header + pair_list + pack_bits(self.offset)

    def to_bytes(self) -> bytes:
        """The serialised record, CRC included."""
        data = self.body() + self.kcv
        return data + struct.pack(">I", crc32(data))

    @property
    def bits(self) -> int:
        """Size of the record in bits."""
        return 8 * self.total_length(self.params)

    @classmethod
    def from_bytes(cls, data: bytes) -> "HelperData":
        """Parse and check a record.

        Raises
        ------
        HelperDataError
            Truncated or too long, bad magic, unknown version, bad CRC, parameters out of
            range, or padding bits set; checked in that order, before anything is decoded.
        """
        if not isinstance(data, bytes | bytearray):
            raise HelperDataError(f"Helper data must be bytes, not {type(data).__name__}")
        data = bytes(data)
        if len(data) < HEADER.size:
            raise HelperDataError(
                f"Helper data truncated: {len(data)} bytes, the header alone has {HEADER.size}"
            )
        magic, version, length, *fields = HEADER.unpack_from(data)
        if magic != MAGIC:
            raise HelperDataError(f"Not helper data: magic {magic!r}, expected {MAGIC!r}")
        if version != VERSION:
            advice = (
                ": it holds neighbour pairs, which this design no longer uses; enrol the "
                "device again"
                if version < VERSION
                else ""
            )
            raise HelperDataError(
                f"Unsupported helper-data version {version}; this reader knows {VERSION}{advice}"
            )
        if len(data) < length:
            raise HelperDataError(
                f"Helper data truncated: {len(data)} bytes of the {length} its header states"
            )
        if len(data) > length:
            raise HelperDataError(
                f"Helper data has {len(data) - length} bytes after the {length} its header states"
            )
        (crc,) = struct.unpack_from(">I", data, length - CRC_BYTES)
        if crc32(data[: length - CRC_BYTES]) != crc:
            raise HelperDataError("Helper data CRC mismatch: the record is corrupted")
        rep, gf_m, t, n, batch_log2, per_batch_log2, soft_width, flags, n_ro = fields
        if flags:
            raise HelperDataError(f"Unknown helper-data flags 0x{flags:02x}")
        try:
            if max(batch_log2, per_batch_log2) > 8:
                raise ValueError(f"batch 2**{batch_log2}, 2**{per_batch_log2} pairs a batch")
            params = CodeParams(
                rep=rep,
                gf_m=gf_m,
                t=t,
                n=n,
                pairing=RankPairing(batch=1 << batch_log2, per_batch=1 << per_batch_log2),
                soft_width=soft_width,
            )
        except (TypeError, ValueError) as error:
            raise HelperDataError(f"Helper-data parameters out of range: {error}") from None
        if length != cls.total_length(params):
            raise HelperDataError(
                f"Helper-data length {length} does not match its parameters "
                f"({cls.total_length(params)} bytes)"
            )
        at = RecordLayout(params)
        pairs_raw = data[at.pairs : at.pairs + at.pairs_bytes]
        offset_raw = data[at.offset : at.offset + at.offset_bytes]
        pair_bits = params.selected_bits * params.pairing.pair_bits
        for name, raw, count in (
            ("pair list", pairs_raw, pair_bits),
            ("code offset", offset_raw, params.selected_bits),
        ):
            if pack_bits(unpack_bits(raw, count)) != raw:
                raise HelperDataError(f"Helper-data {name} has padding bits set")
        try:
            pairs = params.pairing.from_bits(
                unpack_bits(pairs_raw, pair_bits), params.selected_bits
            )
        except ValueError as error:
            raise HelperDataError(f"Bad pair list: {error}") from None
        return cls(
            params=params,
            n_ro=n_ro,
            pairs=tuple(pairs),
            offset=unpack_bits(offset_raw, params.selected_bits),
            kcv=data[at.kcv : at.crc],
        )
