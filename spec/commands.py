"""The device's commands, their statuses and payloads: one definition for gateware and host.

A request frame carries a command code and a payload; the response carries a status and a
payload (see :mod:`ropuf.spec.framing` for the frame itself). Multi-byte fields are
little-endian. The status byte is :class:`ropuf.spec.status.Status` (exported here and by the
framing spec): framing statuses (bad CRC, bad length, ...) below 0x10, the command
processor's own from 0x10 up.
"""

import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from .status import Status

__all__ = [
    "BUILD_FIGURES",
    "DESIGN_VERSION",
    "INFO_FORMAT",
    "LOAD_HELPER_CHUNK",
    "MAX_READ_RO_PAIRS",
    "READ_RO_RESULT_BYTES",
    "Command",
    "Info",
    "Mode",
    "Status",
    "decode_read_ro_response",
    "encode_load_helper",
    "encode_read_ro_request",
    "encode_read_ro_response",
]

#: Version of the device design the command set describes.
DESIGN_VERSION = 1


class Command(enum.IntEnum):
    """Request codes."""

    INFO = 0x01  #: no payload; answers :class:`Info`
    READ_RO = 0x02  #: pairs (a u16, b u16) x n, n <= MAX_READ_RO_PAIRS; enrollment builds only
    LOAD_HELPER = 0x03  #: offset u16 + a chunk of helper data; see :func:`encode_load_helper`
    RECONSTRUCT = 0x04  #: no payload; OK, BAD_HELPER or KEY_CHECK_FAILED
    ATTEST = 0x05  #: 32-byte nonce; answers the 32-byte MAC (NO_KEY before a reconstruction)
    ARBITER = 0x06  #: challenges for the arbiter PUF
    LOCK = 0x07  #: no payload; READ_RO refused until reconfiguration
    #: no payload; the identity public key, 65 bytes (:mod:`ropuf.spec.identity`); NO_KEY
    #: before a reconstruction; builds with ``identity`` only
    IDENTITY = 0x08
    #: domain u8 + 32 bytes; the signature r || s, 64 bytes (:mod:`ropuf.spec.identity`);
    #: NO_KEY before a reconstruction, FAULT if the engine's self-check failed; LOCKED for the
    #: GENERIC domain except on an unlocked enrollment build
    SIGN = 0x09


class Mode(enum.IntEnum):
    """What the device allows, reported by INFO."""

    #: an enrollment build, unlocked: raw readout (and GENERIC signing) allowed
    ENROLLMENT = 0
    #: an enrollment build after LOCK: no raw readout (nor GENERIC signing) until
    #: reconfiguration
    LOCKED = 1
    #: a deployment build: it has no raw-readout logic at all, and signs no GENERIC digest
    DEPLOYMENT = 2


#: INFO payload: design version u16, mode u8, key ready u8, RO count u16, stages u8,
#: count width u8, soft width u8, key construction u8 (:attr:`Info.construction`), gate cycles
#: u32, clock Hz u32, build id 8 bytes.
INFO_FORMAT = "<HBBHBBBBII8s"

#: The build's figures INFO reports, in this order: ``ropuf info``, the enrollment record's PUF
#: facts and the build id's hash (:attr:`ropuf.spec.device_config.DeviceConfig.build_id`) all
#: list them from here.
BUILD_FIGURES = ("n_ro", "stages", "count_width", "soft_width", "gate_cycles", "clock_hz")


@dataclass(frozen=True)
class Info:
    """What INFO answers (a fresh build's answer and its build id:
    :attr:`ropuf.spec.device_config.DeviceConfig.info`)."""

    design_version: int
    mode: Mode
    key_ready: bool
    n_ro: int
    stages: int
    count_width: int
    soft_width: int
    gate_cycles: int
    clock_hz: int
    build_id: bytes
    #: The build's key construction: 0 none, else a key of
    #: :data:`ropuf.spec.code_params.CONSTRUCTIONS` (0xFF: one of no published name).
    construction: int = 0

    def encode(self) -> bytes:
        return struct.pack(
            INFO_FORMAT,
            self.design_version,
            self.mode,
            int(self.key_ready),
            self.n_ro,
            self.stages,
            self.count_width,
            self.soft_width,
            self.construction,
            self.gate_cycles,
            self.clock_hz,
            self.build_id,
        )

    def figures(self) -> dict[str, int]:
        """The :data:`BUILD_FIGURES` of this answer, by name, in that order."""
        return {name: getattr(self, name) for name in BUILD_FIGURES}

    @classmethod
    def decode(cls, payload: bytes) -> "Info":
        """Parse an INFO payload; ``ValueError`` if it has the wrong length or mode."""
        if len(payload) != struct.calcsize(INFO_FORMAT):
            raise ValueError(
                f"INFO answer must be {struct.calcsize(INFO_FORMAT)} bytes, not {len(payload)}"
            )
        fields = struct.unpack(INFO_FORMAT, payload)
        version, mode, key_ready, n_ro, stages, count_width, soft_width, code, gate, clock, bid = (
            fields
        )
        return cls(
            version, Mode(mode), bool(key_ready), n_ro, stages, count_width, soft_width, gate,
            clock, bid, code,
        )  # fmt: skip


#: Most pairs one READ_RO request may name (7 answer bytes each fit a 256-byte payload).
MAX_READ_RO_PAIRS = 32
#: Answer bytes per pair: count_a u24, count_b u24, flags u8 (bit 0 overflow, bit 1 invalid).
READ_RO_RESULT_BYTES = 7


def encode_read_ro_request(pairs: Sequence[tuple[int, int]]) -> bytes:
    """The READ_RO payload for *pairs* (indices are checked by the device, not here)."""
    if not 1 <= len(pairs) <= MAX_READ_RO_PAIRS:
        raise ValueError(f"READ_RO takes 1..{MAX_READ_RO_PAIRS} pairs, not {len(pairs)}")
    return b"".join(struct.pack("<HH", a, b) for a, b in pairs)


def encode_read_ro_response(results: Sequence[tuple[int, int, int, int]]) -> bytes:
    """The READ_RO answer for ``(count_a, count_b, overflow, invalid)`` tuples."""
    out = bytearray()
    for count_a, count_b, overflow, invalid in results:
        out += count_a.to_bytes(3, "little") + count_b.to_bytes(3, "little")
        out.append((overflow & 1) | ((invalid & 1) << 1))
    return bytes(out)


def decode_read_ro_response(payload: bytes) -> list[tuple[int, int, int, int]]:
    """Parse a READ_RO answer into ``(count_a, count_b, overflow, invalid)`` tuples."""
    if len(payload) % READ_RO_RESULT_BYTES:
        raise ValueError(
            f"READ_RO answer length {len(payload)} is not a multiple of {READ_RO_RESULT_BYTES}"
        )
    results = []
    for offset in range(0, len(payload), READ_RO_RESULT_BYTES):
        chunk = payload[offset : offset + READ_RO_RESULT_BYTES]
        flags = chunk[6]
        results.append(
            (
                int.from_bytes(chunk[0:3], "little"),
                int.from_bytes(chunk[3:6], "little"),
                flags & 1,
                (flags >> 1) & 1,
            )
        )
    return results


#: Most helper-data bytes one LOAD_HELPER request carries (the payload is 256 bytes at most).
LOAD_HELPER_CHUNK = 240


def encode_load_helper(helper: bytes, chunk: int = LOAD_HELPER_CHUNK) -> list[bytes]:
    """LOAD_HELPER payloads that write *helper* from offset 0: ``offset u16 || bytes``.

    The key path's semantics (gateware and model agree):

    - LOAD_HELPER: payload ``offset u16 || data``, at least the two offset bytes; writes *data*
      to the device's helper buffer at *offset*. ``offset + len(data)`` beyond the build's
      helper-data length is BAD_PAYLOAD (nothing written). Any accepted LOAD_HELPER forgets
      the key (INFO's key_ready drops to 0). The buffer starts as zeros at configuration.
    - RECONSTRUCT: no payload. BAD_HELPER when the buffer is not a well-formed record for this
      build (header bytes, CRC-32, padding bits); otherwise the device measures the pairs
      the record lists, decodes, derives the master key over the helper body and compares
      the key-check value: OK (key ready) or KEY_CHECK_FAILED (decoding failed or the check
      value differs; no key). Any outcome but OK forgets the key.
    - ATTEST: a 32-byte nonce; NO_KEY without a key; otherwise OK and the 32-byte MAC of
      :func:`ropuf.spec.attestation.attestation_mac` over the loaded helper record.
    """
    if not 1 <= chunk <= LOAD_HELPER_CHUNK:
        raise ValueError(f"LOAD_HELPER chunk must be 1..{LOAD_HELPER_CHUNK} bytes, not {chunk}")
    return [
        (offset).to_bytes(2, "little") + helper[offset : offset + chunk]
        for offset in range(0, len(helper), chunk)
    ]
