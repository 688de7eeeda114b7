"""The device client: one typed method per command, the same over every transport."""

import logging
import secrets
import time
from collections.abc import Sequence
from typing import ClassVar

from ropuf.spec import commands, framing
from ropuf.spec.attestation import MAC_BYTES, NONCE_BYTES
from ropuf.spec.commands import Command, Status
from ropuf.spec.errors import RopufError
from ropuf.spec.identity import (
    SIGNATURE_BYTES,
    SignDomain,
    decode_public_key,
    encode_sign_request,
)

from .closing import Closing
from .transport import SerialTransport, Transport

__all__ = [
    "DAMAGED",
    "BadHelperError",
    "DeviceClient",
    "DeviceError",
    "DeviceLockedError",
    "FaultError",
    "KeyCheckFailedError",
    "NoKeyError",
    "ProtocolError",
    "UnknownCommandError",
    "device_error",
]

logger = logging.getLogger(__name__)


class ProtocolError(RopufError):
    """The device did not answer, answered garbage, or speaks another protocol version."""


class DeviceError(RopufError):
    """The device answered with an error status.

    Attributes
    ----------
    status : int
        The status code (:class:`ropuf.spec.status.Status`: a command or a framing status).
    """

    _MESSAGES: ClassVar[dict[int, str]] = {
        Status.UNKNOWN_COMMAND: "the device does not know this command (a deployment build "
        "has no raw readout; a build without the key path has no LOAD_HELPER, RECONSTRUCT "
        "or ATTEST; one without the identity no IDENTITY or SIGN)",
        Status.BAD_PAYLOAD: "the device rejected the request's payload",
        Status.LOCKED: "the device is locked: raw readout is off until its FPGA is "
        "reconfigured (reload the enrollment bitstream)",
        Status.NO_KEY: "the device has no key: load helper data and reconstruct first",
        Status.KEY_CHECK_FAILED: "key check failed: the helper data does not match this "
        "device or was manipulated",
        Status.BAD_HELPER: "the device rejected the helper data as malformed for its build "
        "(length, CRC, version or code parameters)",
        Status.FAULT: "the device's P-256 engine failed its self-check and answered nothing "
        "(a glitch, or a nonce out of range: about 1 in 2^32); send the request again, and "
        "RECONSTRUCT again if it repeats (a fault at RECONSTRUCT refuses every IDENTITY and "
        "SIGN until the next one); treat faults that keep coming back as tampering",
    }

    #: Where a command gives a status another meaning: (command name, status) -> reason.
    _COMMAND_MESSAGES: ClassVar[dict[tuple[str, int], str]] = {
        ("SIGN", Status.LOCKED): "the device signs generic digests (certificate requests) only "
        "in an enrollment build before LOCK; a locked or deployment build refuses them: sign "
        "the certificate request with the device's enrollment build before LOCK (load the "
        "enrollment bitstream, then enrol or transfer); attestation signatures still work",
    }

    def __init__(self, status: int, command: str):
        self.status = status
        name = _status_name(status)
        reason = self._COMMAND_MESSAGES.get(
            (command, status), self._MESSAGES.get(status, "the device reported an error")
        )
        super().__init__(f"{command}: {reason} (status 0x{status:02x} {name})")


class UnknownCommandError(DeviceError):
    """The build does not have the command (a deployment build has no READ_RO)."""


class DeviceLockedError(DeviceError):
    """The device is locked (LOCK was sent): raw readout is off until it is reconfigured; or
    SIGN's GENERIC domain on a locked enrollment build or a deployment build."""


class NoKeyError(DeviceError):
    """ATTEST before a successful RECONSTRUCT: load helper data and reconstruct first."""


class KeyCheckFailedError(DeviceError):
    """RECONSTRUCT did not give the enrolled key: the helper data does not match this device
    (another die, or a die far outside its enrolled conditions) or was manipulated."""


class BadHelperError(DeviceError):
    """The helper data is malformed for this build (length, CRC, version, parameters)."""


class FaultError(DeviceError):
    """IDENTITY or SIGN: the P-256 engine's self-check failed; nothing was answered."""


_ERRORS: dict[int, type[DeviceError]] = {
    Status.UNKNOWN_COMMAND: UnknownCommandError,
    Status.LOCKED: DeviceLockedError,
    Status.NO_KEY: NoKeyError,
    Status.KEY_CHECK_FAILED: KeyCheckFailedError,
    Status.BAD_HELPER: BadHelperError,
    Status.FAULT: FaultError,
}


def _status_name(status: int) -> str:
    """The name of a status byte, ``"?"`` for a code the protocol does not define."""
    return Status(status).name if status in Status._value2member_map_ else "?"


def _damaged(status: int) -> str:
    return f"the request was corrupted on the way (status 0x{status:02x} {_status_name(status)})"


def device_error(status: int, command: str) -> DeviceError:
    """The exception for an error *status* answered to *command*: the most specific
    :class:`DeviceError` subclass there is."""
    return _ERRORS.get(status, DeviceError)(status, command)


#: Framing statuses that mean "your frame was damaged on the way" (bytes lost, flipped or
#: merged with noise, or dropped by a full receive window: ``OVERRUN``): the request is sent
#: again. Every other framing status names a frame that arrived intact (a host bug), so it is
#: not retried.
DAMAGED: frozenset[int] = frozenset(
    {
        Status.OVERRUN,
        Status.BAD_COBS,
        Status.TRUNCATED,
        Status.BAD_CRC,
    }
)


class DeviceClient(Closing):
    """Talk to one ropuf device.

    Every request goes out after a frame delimiter, which ends whatever the line held (noise,
    a half frame of an earlier program), so the device answers that separately. Answers whose
    sequence number is not the request's are stale (an earlier program's, or an earlier
    attempt's) and dropped. A request is sent again, with a new sequence number, when its answer
    says the frame was damaged (:data:`DAMAGED`) or does not decode; an answer to any attempt
    counts. Every command is safe to repeat: the device serves frames in order, so a repeat
    runs before the next request (see ``docs/protocol.md``).

    Parameters
    ----------
    transport : Transport
        The link (see :mod:`ropuf.host.transport`).
    timeout : float
        Seconds to wait for each answer.
    retries : int
        Extra attempts when a frame is corrupted on the way (the device answers BAD_CRC,
        BAD_COBS or TRUNCATED, or its answer does not decode).
    """

    #: Seconds to wait for a further answer after one that may belong to noise (a damaged-frame
    #: answer without a sequence number, or one that does not decode) before sending again.
    settle = 0.5

    def __init__(self, transport: Transport, *, timeout: float = 5.0, retries: int = 2):
        self.transport = transport
        self.timeout = timeout
        self.retries = retries
        # Sequence numbers run 1..255 (0 is what an error answer to an unreadable frame
        # carries) from a random start, so a new client rarely shares one with an answer an
        # earlier program left on the line.
        self._seq = secrets.randbelow(255)

    def _next_seq(self) -> int:
        self._seq = self._seq % 255 + 1
        return self._seq

    @classmethod
    def open(cls, url: str, *, baudrate: int = 115_200, **kwargs) -> "DeviceClient":
        """Open a client on a pyserial URL (``/dev/ttyUSB1``, ``socket://host:port``, ...)."""
        return cls(SerialTransport(url, baudrate=baudrate), **kwargs)

    def close(self) -> None:
        self.transport.close()

    def request(self, code: int, payload: bytes = b"", *, timeout: float | None = None) -> bytes:
        """Send one request and return the payload of its OK answer.

        *timeout* overrides the client's seconds to wait for this answer.

        Raises
        ------
        ProtocolError
            No answer in time, or answers that never decode after the retries.
        DeviceError
            The device answered with an error status.
        """
        name = Command(code).name if code in Command._value2member_map_ else f"0x{code:02x}"
        wait = self.timeout if timeout is None else timeout
        sent: set[int] = set()  # the sequence numbers of this request's attempts
        problem = "no answer"
        for attempt in range(self.retries + 1):
            if attempt:
                logger.info("%s: retrying after %s", name, problem)
            seq = self._next_seq()
            sent.add(seq)
            frame = framing.encode_frame(seq, code, payload)
            self.transport.send(bytes([framing.DELIMITER]) + frame)
            answer = self._answer(sent, wait)
            if answer is None:
                problem = f"no answer within {wait} s"
                break  # the device is silent: resending will not help
            if isinstance(answer, str):
                problem = answer
                continue
            if answer.code in DAMAGED:
                problem = _damaged(answer.code)
                continue
            if answer.code != Status.OK:
                raise device_error(answer.code, name)
            return answer.payload
        raise ProtocolError(
            f"{name}: {problem} (device at {getattr(self.transport, 'url', '?')}); "
            "is it a ropuf device, powered and running the ropuf bitstream?"
        )

    def _answer(self, sent: set[int], timeout: float) -> framing.Frame | str | None:
        """The answer to one of the sequence numbers *sent*: a frame, a description of a bad
        one, or None on silence.

        An answer that may be the device's to noise rather than to this request (a damaged-
        frame status with another or no sequence number, or bytes that do not decode) is only
        taken as this request's when no other answer follows within :attr:`settle` seconds.
        """
        deadline = time.monotonic() + timeout
        doubtful: str | None = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:  # a line that never falls silent (noise, stale answers) ends here
                return doubtful
            raw = self.transport.receive(min(left, self.settle) if doubtful else left)
            if raw is None:
                return doubtful
            try:
                frame = framing.decode_frame(raw)
            except framing.FramingError as exc:
                doubtful = f"an answer that does not decode ({exc})"
                continue
            if frame.seq in sent:
                return frame
            if frame.code in DAMAGED or (frame.seq == 0 and frame.code in framing.FRAMING_STATUSES):
                # A damaged frame: noise or an earlier program's half frame, or this request
                # with its sequence number unreadable or hit.
                doubtful = _damaged(frame.code)
                continue
            logger.info("dropping a stale answer (seq %d, waiting for %s)", frame.seq, sorted(sent))

    def info(self) -> commands.Info:
        """Design version, mode, key state and PUF geometry of the device.

        Raises
        ------
        ProtocolError
            The answer is not an INFO answer of this protocol (not a ropuf device?).
        """
        payload = self.request(Command.INFO)
        try:
            return commands.Info.decode(payload)
        except ValueError as exc:
            raise ProtocolError(
                f"INFO answer does not parse ({exc}): not a ropuf device?"
            ) from None

    def read_ro(self, pairs: Sequence[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
        """Raw counts ``(count_a, count_b, overflow, invalid)`` of each pair (enrollment only).

        Any number of pairs: they are sent in requests of at most 32.

        Raises
        ------
        DeviceLockedError
            The device is locked.
        UnknownCommandError
            A deployment build (it has no raw readout).
        """
        results = []
        step = commands.MAX_READ_RO_PAIRS
        for start in range(0, len(pairs), step):
            chunk = list(pairs[start : start + step])
            answer = self.request(Command.READ_RO, commands.encode_read_ro_request(chunk))
            decoded = commands.decode_read_ro_response(answer)
            if len(decoded) != len(chunk):
                raise ProtocolError(
                    f"READ_RO answered {len(decoded)} results for {len(chunk)} pairs"
                )
            results += decoded
        return results

    def lock(self) -> None:
        """Turn raw readout off until the device is reconfigured.

        Key reconstruction and attestation keep working; READ_RO answers LOCKED afterwards.
        """
        self.request(Command.LOCK)

    def load_helper(self, record: bytes) -> None:
        """Write a helper-data record into the device's helper buffer, from offset 0.

        The record is sent in chunks of at most :data:`~ropuf.spec.commands.LOAD_HELPER_CHUNK`
        bytes (:func:`~ropuf.spec.commands.encode_load_helper`). The device forgets any key
        it held; it checks the record only at :meth:`reconstruct`.

        Raises
        ------
        DeviceError
            BAD_PAYLOAD when the record is longer than this build's helper data;
            :class:`UnknownCommandError` on a build without the key path.
        ValueError
            The record is empty.
        """
        if not record:
            raise ValueError("LOAD_HELPER: the helper-data record is empty")
        for payload in commands.encode_load_helper(bytes(record)):
            self.request(Command.LOAD_HELPER, payload)

    def reconstruct(self, *, timeout: float | None = None) -> None:
        """Reconstruct the key from the loaded helper data (measure, decode, derive, check).

        On success the device holds its attestation key (INFO's key_ready is set). A real
        board answers within a fraction of a second; a simulated board takes seconds, so
        *timeout* may raise the client's wait for this answer.

        Raises
        ------
        KeyCheckFailedError
            The helper data does not match this device, or was manipulated: no key.
        BadHelperError
            The loaded record is malformed for this build: load the right record.
        """
        self.request(Command.RECONSTRUCT, timeout=timeout)

    def attest(self, nonce: bytes) -> bytes:
        """The device's 32-byte MAC over *nonce* and its loaded helper data.

        ``HMAC-SHA256(attestation key, "ropuf attest v1" 0x00 || SHA-256(helper) || nonce)``
        (:func:`ropuf.spec.attestation.attestation_mac`); check it with
        :class:`~ropuf.host.attestation.Verifier`, never with ``==``.

        Raises
        ------
        NoKeyError
            No successful :meth:`reconstruct` since the last configuration or LOAD_HELPER.
        ValueError
            *nonce* is not 32 bytes.
        ProtocolError
            The answer is not a 32-byte MAC.
        """
        if len(nonce) != NONCE_BYTES:
            raise ValueError(f"ATTEST: a nonce must be {NONCE_BYTES} bytes, not {len(nonce)}")
        mac = self.request(Command.ATTEST, bytes(nonce))
        if len(mac) != MAC_BYTES:
            raise ProtocolError(f"ATTEST answered {len(mac)} bytes, not a {MAC_BYTES}-byte MAC")
        return mac

    def identity(self, *, timeout: float | None = None) -> bytes:
        """The device's identity public key: the uncompressed P-256 point ``0x04 || x || y``
        (65 bytes, :mod:`ropuf.spec.identity`; load it with ``cryptography``'s
        ``EllipticCurvePublicKey.from_encoded_point``). The device computed it at RECONSTRUCT
        (twice, compared) and answers it at once; *timeout* may raise the client's wait.

        Raises
        ------
        UnknownCommandError
            The build has no identity.
        NoKeyError
            No successful :meth:`reconstruct` since the last configuration or LOAD_HELPER.
        FaultError
            The device's self-check failed (here or at RECONSTRUCT): RECONSTRUCT again.
        ProtocolError
            The answer is not a point on P-256.
        """
        answer = self.request(Command.IDENTITY, timeout=timeout)
        try:
            decode_public_key(answer)
        except ValueError as exc:
            raise ProtocolError(f"IDENTITY answered no public key: {exc}") from None
        return answer

    def sign(self, domain: SignDomain, value: bytes, *, timeout: float | None = None) -> bytes:
        """The device's ECDSA P-256 signature ``r || s`` (64 bytes) in *domain*: of the
        digest *value* (GENERIC) or of :func:`ropuf.spec.identity.attestation_digest` of its
        loaded helper data and the nonce *value* (ATTESTATION). RFC 6979 nonces: equal requests
        give equal signatures. *timeout* may raise the client's wait (about 68 ms at 25 MHz, the
        signature verified on the device before it leaves).

        Raises
        ------
        ValueError
            *value* is not 32 bytes, or *domain* is not a
            :class:`~ropuf.spec.identity.SignDomain`.
        DeviceLockedError
            GENERIC on a locked enrollment build or a deployment build
            (:func:`ropuf.spec.identity.generic_sign_allowed`): sign certificate requests with
            the enrollment build before LOCK.
        UnknownCommandError, NoKeyError, FaultError
            As :meth:`identity`.
        ProtocolError
            The answer is not 64 bytes.
        """
        payload = encode_sign_request(domain, value)
        signature = self.request(Command.SIGN, payload, timeout=timeout)
        if len(signature) != SIGNATURE_BYTES:
            raise ProtocolError(
                f"SIGN answered {len(signature)} bytes, not a {SIGNATURE_BYTES}-byte signature"
            )
        return signature
