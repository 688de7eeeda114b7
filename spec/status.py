"""The status byte of a response (frame byte 2): one enum for the framing layer and the
command processor.

``OK`` is shared; the framing layer owns the codes in :data:`FRAMING_STATUSES` (a frame that
arrived damaged or could not be read), the command processor the codes from
:data:`COMMAND_STATUS_BASE` up (the request was read but not served). ``ropuf.spec.framing``
and ``ropuf.spec.commands`` both export this :class:`Status`.
"""

import enum

__all__ = ["COMMAND_STATUS_BASE", "FRAMING_STATUSES", "Status"]

#: Status codes reserved for the framing layer (``OK`` excluded).
FRAMING_STATUSES = range(0x01, 0x10)
#: The first status code free for the command processor.
COMMAND_STATUS_BASE = 0x10


@enum.unique
class Status(enum.IntEnum):
    """Status byte of a response: ``OK`` or why the request was not served."""

    #: The request was served.
    OK = 0x00

    # --- framing statuses (FRAMING_STATUSES): the frame itself was faulty ---------------------
    #: The CRC over the frame does not match its last four bytes.
    BAD_CRC = 0x01
    #: The frame is shorter than a header and a CRC (``framing.MIN_FRAME`` bytes).
    TRUNCATED = 0x02
    #: The length field disagrees with the number of bytes received.
    LENGTH_MISMATCH = 0x03
    #: The length field exceeds the maximum payload, or the frame is longer than the receive
    #: buffer (the rest of it is discarded up to the next delimiter).
    OVERSIZE = 0x04
    #: The COBS encoding is invalid: a zero inside, or a code byte pointing past the end.
    BAD_COBS = 0x05
    #: The version byte is not ``framing.PROTOCOL_VERSION``.
    BAD_VERSION = 0x06
    #: Bytes of the frame were lost on the line: they arrived while the device's receive buffer
    #: was full (the host had more than ``framing.RECEIVE_WINDOW`` bytes of requests
    #: unanswered). Frames lost whole, delimiter included, are merged into the frame that gets
    #: this answer. Sequence number 0: which request it was cannot be known. Requests before
    #: the next answered one that got no answer were lost; send them again.
    OVERRUN = 0x07

    # --- command statuses (COMMAND_STATUS_BASE and up): the request was not served ------------
    #: Not a command of this build (a deployment build has no READ_RO).
    UNKNOWN_COMMAND = 0x10
    #: The payload's length or contents do not fit the command.
    BAD_PAYLOAD = 0x11
    #: The command needs the enrollment mode (an enrollment build before LOCK), and the
    #: device is locked or a deployment build: READ_RO after LOCK, SIGN's GENERIC domain.
    LOCKED = 0x12
    #: ATTEST, IDENTITY or SIGN before a successful RECONSTRUCT.
    NO_KEY = 0x13
    #: The reconstructed key does not match the helper data's check.
    KEY_CHECK_FAILED = 0x14
    #: The helper data is malformed (length, CRC, version, parameters).
    BAD_HELPER = 0x15
    #: IDENTITY or SIGN: the P-256 engine's check of its own result failed (a fault; not every
    #: fault is caught: docs/identity.md, "Fault checks"), or
    #: RFC 6979's first nonce was out of range (probability about 2^-32); nothing is answered.
    #: Send the request again; a fault that repeats means the device is being tampered with.
    FAULT = 0x16

    @property
    def is_framing(self) -> bool:
        """Whether the framing layer answers this status (the frame was faulty)."""
        return self in FRAMING_STATUSES
