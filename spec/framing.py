"""The framed packet protocol over the UART: one definition for the gateware and the host.

A frame, before COBS encoding (all multi-byte fields little-endian)::

    byte 0       protocol version (PROTOCOL_VERSION)
    byte 1       sequence number (a response echoes its request's)
    byte 2       code: the command in a request, the status in a response
    bytes 3-4    payload length L, at most MAX_PAYLOAD
    5 .. 5+L-1   payload
    last 4       CRC-32 (IEEE 802.3, as zlib.crc32) of bytes 0 .. 5+L-1

On the wire the frame is COBS-encoded (Cheshire & Baker: no 0x00 byte inside) and followed by
one 0x00 delimiter. A receiver resynchronises at every delimiter; an empty frame (two delimiters
in a row) is not a request and is ignored, so a sender may start with a delimiter to flush a
line that held noise.

A malformed frame is answered with an error response (empty payload, status = one of the
framing statuses of :class:`Status`); :func:`decode_frame` raises :class:`FramingError` with that
status and the sequence number the response carries. When several faults apply, the first in
this order is reported: bad COBS, oversize (longer than the receive buffer), truncated, bad CRC,
wrong version, oversize (length field above the maximum), length mismatch. The CRC is checked
before the header fields, so any status after ``BAD_CRC`` names a frame that arrived intact.
A frame that lost bytes on the line (the receiver's buffer was full) is answered ``OVERRUN``
before any of these: that comes from the line, not from the bytes, so :func:`decode_frame`
never raises it. A host that keeps at most :data:`RECEIVE_WINDOW` bytes of unanswered requests
on the line never causes one.

The CRC is :data:`ropuf.spec.crc.CRC32` (Amaranth's ``CRC32_ISO_HDLC``, plain Python until a
processor is built from it): the gateware builds its CRC processors from it, the tests and the
host use the codecs.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from .checks import check_int
from .crc import CRC32_RESIDUE, crc32
from .errors import RopufError
from .status import COMMAND_STATUS_BASE, FRAMING_STATUSES, Status

__all__ = [
    "COMMAND_STATUS_BASE",
    "CRC32_RESIDUE",
    "CRC_SIZE",
    "DELIMITER",
    "FRAMING_STATUSES",
    "HEADER_SIZE",
    "MAX_ENCODED_FRAME",
    "MAX_FRAME",
    "MAX_PAYLOAD",
    "MIN_FRAME",
    "PROTOCOL_VERSION",
    "RECEIVE_WINDOW",
    "Frame",
    "FrameSplitter",
    "FramingError",
    "Status",
    "check_max_payload",
    "cobs_decode",
    "cobs_encode",
    "cobs_max_encoded",
    "crc32",
    "decode_frame",
    "encode_frame",
    "frame_size",
    "pack_frame",
    "unpack_frame",
]

#: Version byte of every frame this definition describes.
PROTOCOL_VERSION = 1
#: Largest payload of a frame, in bytes.
MAX_PAYLOAD = 256
#: Bytes before the payload: version, sequence number, code, length (2).
HEADER_SIZE = 5
#: Bytes of the CRC after the payload.
CRC_SIZE = 4
#: The shortest frame (empty payload), before COBS.
MIN_FRAME = HEADER_SIZE + CRC_SIZE
#: The longest frame (MAX_PAYLOAD bytes of payload), before COBS.
MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE
#: The frame delimiter on the wire.
DELIMITER = 0x00
#: Bytes of requests a host may have on the line unanswered without the device dropping any:
#: the bytes of every request whose response it has not yet received in full, their
#: delimiters and any leading ``0x00`` flushes included. The device's receive FIFO holds more
#: than this, and no byte of an answered request is in it. So a host may send requests back to
#: back (40 INFO requests of 11 bytes), or one of the longest (``MAX_ENCODED_FRAME`` + 2 = 269
#: bytes) and 243 bytes of others behind it. Beyond the window, bytes may be lost, and a frame
#: that lost bytes is answered ``OVERRUN``.
RECEIVE_WINDOW = 512


#: Largest COBS block: a code byte of 0xFF is followed by this many non-zero bytes.
_COBS_BLOCK = 254


class FramingError(RopufError):
    """A received frame is malformed.

    Attributes
    ----------
    status : Status
        The framing status an error response carries.
    seq : int
        The sequence number the error response carries: the request's when its header (the
        first :data:`HEADER_SIZE` decoded bytes) was readable, else 0.
    """

    def __init__(self, status: Status, message: str, *, seq: int = 0):
        super().__init__(f"{status.name}: {message}")
        self.status = status
        self.seq = seq


@dataclass(frozen=True)
class Frame:
    """A well-formed frame.

    Attributes
    ----------
    seq : int
        Sequence number, 0..255.
    code : int
        Command (request) or status (response), 0..255.
    payload : bytes
        At most :data:`MAX_PAYLOAD` bytes.
    """

    seq: int
    code: int
    payload: bytes = b""

    def __post_init__(self) -> None:
        for name in ("seq", "code"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"Frame {name} must be an integer, not {value!r}")
            if not 0 <= value <= 0xFF:
                raise ValueError(f"Frame {name} must be in 0..255, not {value!r}")
        if not isinstance(self.payload, bytes | bytearray | memoryview):
            raise TypeError(f"Frame payload must be bytes, not {self.payload!r}")
        object.__setattr__(self, "payload", bytes(self.payload))
        if len(self.payload) > MAX_PAYLOAD:
            raise ValueError(
                f"Frame payload must be at most {MAX_PAYLOAD} bytes, not {len(self.payload)}"
            )


def frame_size(payload_length: int) -> int:
    """Bytes of a frame with a *payload_length*-byte payload, before COBS."""
    return HEADER_SIZE + payload_length + CRC_SIZE


def cobs_max_encoded(length: int) -> int:
    """The longest COBS encoding of *length* bytes (delimiter not counted)."""
    return length + 1 + max(length - 1, 0) // _COBS_BLOCK


#: The longest encoded frame, delimiter not counted.
MAX_ENCODED_FRAME = cobs_max_encoded(MAX_FRAME)


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode *data* (no delimiter added).

    Every zero byte becomes the code byte of the block after it; a block of 254 non-zero bytes
    gets the code 0xFF and no zero. The output is the shortest encoding (a final full block is
    not followed by an empty one), the same as the reference C encoder.
    """
    out = bytearray()
    block = bytearray()
    for index, byte in enumerate(data):
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
            continue
        block.append(byte)
        if len(block) == _COBS_BLOCK:
            out.append(0xFF)
            out += block
            block.clear()
            if index == len(data) - 1:
                return bytes(out)
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def cobs_decode(encoded: bytes) -> bytes:
    """Decode one COBS-encoded frame (without its delimiter).

    Raises
    ------
    FramingError
        With status ``BAD_COBS``: *encoded* is empty, holds a zero byte, or a code byte points
        past its end.
    """
    if not encoded:
        raise FramingError(Status.BAD_COBS, "an encoded frame must hold at least a code byte")
    out = bytearray()
    index = 0
    while index < len(encoded):
        code = encoded[index]
        if code == 0:
            raise FramingError(Status.BAD_COBS, f"zero code byte at offset {index}")
        end = index + code
        if end > len(encoded):
            raise FramingError(
                Status.BAD_COBS,
                f"code 0x{code:02X} at offset {index} points past the end ({len(encoded)} bytes)",
            )
        block = encoded[index + 1 : end]
        if 0 in block:
            raise FramingError(Status.BAD_COBS, f"zero byte at offset {index + 1 + block.index(0)}")
        out += block
        index = end
        if code != 0xFF and index < len(encoded):
            out.append(0)
    return bytes(out)


def check_max_payload(max_payload: object) -> int:
    """Return *max_payload* if it is a valid receive buffer size: an integer number of payload
    bytes in 0..:data:`MAX_PAYLOAD` (else TypeError or ValueError, as
    :func:`~ropuf.spec.checks.check_int`)."""
    return check_int("Maximum payload", max_payload, 0, MAX_PAYLOAD)


def pack_frame(seq: int, code: int, payload: bytes = b"") -> bytes:
    """The bytes of a frame before COBS: header, payload, CRC.

    Raises
    ------
    TypeError, ValueError
        *seq* or *code* is not an integer in 0..255, or *payload* is not bytes of at most
        :data:`MAX_PAYLOAD` bytes.
    """
    frame = Frame(seq, code, payload)
    body = bytes([PROTOCOL_VERSION, frame.seq, frame.code])
    body += len(frame.payload).to_bytes(2, "little") + frame.payload
    return body + crc32(body).to_bytes(CRC_SIZE, "little")


def encode_frame(seq: int, code: int, payload: bytes = b"") -> bytes:
    """A frame as it goes on the wire: :func:`pack_frame`, COBS-encoded, then the delimiter."""
    return cobs_encode(pack_frame(seq, code, payload)) + bytes([DELIMITER])


def unpack_frame(raw: bytes, *, max_payload: int = MAX_PAYLOAD) -> Frame:
    """Check a decoded frame (after COBS) and return it.

    Parameters
    ----------
    raw : bytes
        The frame's bytes after COBS decoding.
    max_payload : int
        The receiver's payload buffer in bytes (at most :data:`MAX_PAYLOAD`): a frame longer
        than ``frame_size(max_payload)``, or whose length field exceeds it, is oversized.

    Raises
    ------
    FramingError
        The first fault in the order of the module description (COBS excepted), with the
        sequence number of byte 1 when at least :data:`HEADER_SIZE` bytes are present.
    """
    max_payload = check_max_payload(max_payload)
    seq = raw[1] if len(raw) >= HEADER_SIZE else 0
    if len(raw) > frame_size(max_payload):
        raise FramingError(
            Status.OVERSIZE,
            f"{len(raw)} bytes, more than the {frame_size(max_payload)}-byte receive buffer",
            seq=seq,
        )
    if len(raw) < MIN_FRAME:
        raise FramingError(
            Status.TRUNCATED,
            f"{len(raw)} bytes, fewer than the {MIN_FRAME} of an empty frame",
            seq=seq,
        )
    body, check = raw[:-CRC_SIZE], int.from_bytes(raw[-CRC_SIZE:], "little")
    if crc32(body) != check:
        raise FramingError(
            Status.BAD_CRC, f"CRC 0x{check:08X} received, 0x{crc32(body):08X} computed", seq=seq
        )
    if raw[0] != PROTOCOL_VERSION:
        raise FramingError(
            Status.BAD_VERSION,
            f"version {raw[0]}, this side speaks version {PROTOCOL_VERSION}",
            seq=seq,
        )
    length = int.from_bytes(raw[3:5], "little")
    if length > max_payload:
        raise FramingError(
            Status.OVERSIZE, f"length field {length}, more than {max_payload}", seq=seq
        )
    if frame_size(length) != len(raw):
        raise FramingError(
            Status.LENGTH_MISMATCH,
            f"length field {length}, but {len(raw) - MIN_FRAME} payload bytes arrived",
            seq=seq,
        )
    return Frame(raw[1], raw[2], raw[HEADER_SIZE:-CRC_SIZE])


def decode_frame(encoded: bytes, *, max_payload: int = MAX_PAYLOAD) -> Frame:
    """Decode one frame as it came off the wire.

    Parameters
    ----------
    encoded : bytes
        The COBS bytes of one frame, with or without its trailing delimiter (as
        :func:`encode_frame` makes it, or :class:`FrameSplitter` yields it).
    max_payload : int
        The receiver's payload buffer (see :func:`unpack_frame`).

    Raises
    ------
    FramingError
        The frame is malformed; ``status`` and ``seq`` are what the error response carries.
        An empty frame raises ``TRUNCATED`` (a device ignores it instead: see
        :class:`FrameSplitter`).
    """
    encoded = bytes(encoded)
    if encoded.endswith(bytes([DELIMITER])):
        encoded = encoded[:-1]
    if not encoded:
        raise FramingError(Status.TRUNCATED, "empty frame")
    return unpack_frame(cobs_decode(encoded), max_payload=max_payload)


class FrameSplitter:
    """Cut a byte stream (a serial port's reads, in chunks of any size) into frames.

    Parameters
    ----------
    limit : int
        The longest encoded frame kept, in bytes without the delimiter; a longer one is
        discarded up to its delimiter and counted in :attr:`discarded`. The default,
        :data:`MAX_ENCODED_FRAME`, keeps every frame that can decode to :data:`MAX_FRAME` bytes.

    Attributes
    ----------
    discarded : int
        Frames dropped for exceeding *limit*.

    Raises
    ------
    TypeError, ValueError
        *limit* is not a positive integer.
    """

    def __init__(self, *, limit: int = MAX_ENCODED_FRAME):
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise TypeError(f"Frame limit must be an integer, not {limit!r}")
        if limit < 1:
            raise ValueError(f"Frame limit must be at least 1 byte, not {limit!r}")
        self._limit = limit
        self._buffer = bytearray()
        self._overflow = False
        self.discarded = 0

    @property
    def pending(self) -> int:
        """Bytes of an unfinished frame held (0 while one is being discarded)."""
        return len(self._buffer)

    def feed(self, data: Iterable[int]) -> list[bytes]:
        """Take *data* and return every frame it completes, in order.

        Each frame is its COBS bytes followed by the delimiter, ready for
        :func:`decode_frame`; empty frames are skipped. Bytes after the last delimiter are kept
        for the next call.
        """
        frames = []
        for byte in bytes(data):
            if byte == DELIMITER:
                if self._overflow:
                    self.discarded += 1
                elif self._buffer:
                    self._buffer.append(DELIMITER)
                    frames.append(bytes(self._buffer))
                self._buffer.clear()
                self._overflow = False
            elif not self._overflow:
                if len(self._buffer) == self._limit:
                    self._buffer.clear()
                    self._overflow = True
                else:
                    self._buffer.append(byte)
        return frames
