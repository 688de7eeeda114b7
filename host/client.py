"""The device client: one typed method per command, the same over every transport."""

import logging
from collections.abc import Sequence
from typing import ClassVar

from ropuf.spec import commands, framing
from ropuf.spec.commands import Command, Status

from .transport import SerialTransport, Transport

__all__ = ["DeviceClient", "DeviceError", "ProtocolError"]

logger = logging.getLogger(__name__)


class ProtocolError(RuntimeError):
    """The device did not answer, answered garbage, or speaks another protocol version."""


class DeviceError(RuntimeError):
    """The device answered with an error status.

    Attributes
    ----------
    status : int
        The status code (:class:`ropuf.spec.commands.Status` or a framing status).
    """

    _MESSAGES: ClassVar[dict[int, str]] = {
        Status.UNKNOWN_COMMAND: "the device does not know this command (a deployment build "
        "has no raw readout)",
        Status.BAD_PAYLOAD: "the device rejected the request's payload",
        Status.LOCKED: "the device is locked: raw readout is off until it is reconfigured",
        Status.NO_KEY: "the device has no key: load helper data and reconstruct first",
        Status.KEY_CHECK_FAILED: "key check failed: the helper data does not belong to this "
        "device, or was changed",
        Status.BAD_HELPER: "the device rejected the helper data (length, CRC or version)",
    }

    def __init__(self, status: int, command: str):
        self.status = status
        try:
            name = Status(status).name
        except ValueError:
            name = framing.Status(status).name if status in framing.FRAMING_STATUSES else "?"
        reason = self._MESSAGES.get(status, "the device reported an error")
        super().__init__(f"{command}: {reason} (status 0x{status:02x} {name})")


class DeviceClient:
    """Talk to one ropuf device.

    Parameters
    ----------
    transport : Transport
        The link (see :mod:`ropuf.host.transport`).
    timeout : float
        Seconds to wait for each answer.
    retries : int
        Extra attempts when a frame is corrupted on the way (the device answers BAD_CRC, or its
        answer does not decode).
    """

    def __init__(self, transport: Transport, *, timeout: float = 5.0, retries: int = 2):
        self.transport = transport
        self.timeout = timeout
        self.retries = retries
        self._seq = 0

    @classmethod
    def open(cls, url: str, *, baudrate: int = 115_200, **kwargs) -> "DeviceClient":
        """Open a client on a pyserial URL (``/dev/ttyUSB1``, ``socket://host:port``, ...)."""
        return cls(SerialTransport(url, baudrate=baudrate), **kwargs)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "DeviceClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def request(self, code: int, payload: bytes = b"") -> bytes:
        """Send one request and return the payload of its OK answer.

        Raises
        ------
        ProtocolError
            No answer in time, or answers that never decode after the retries.
        DeviceError
            The device answered with an error status.
        """
        name = Command(code).name if code in Command._value2member_map_ else f"0x{code:02x}"
        self._seq = (self._seq + 1) & 0xFF
        seq = self._seq
        frame = framing.encode_frame(seq, code, payload)
        problem = "no answer"
        for attempt in range(self.retries + 1):
            if attempt:
                logger.info("%s: retrying after %s", name, problem)
            self.transport.send(frame)
            answer = self._answer(seq)
            if answer is None:
                problem = f"no answer within {self.timeout} s"
                break  # the device is silent: resending will not help
            if isinstance(answer, str):
                problem = answer
                continue
            if answer.code == framing.Status.BAD_CRC:
                problem = "the request was corrupted on the way"
                continue
            if answer.code != Status.OK:
                raise DeviceError(answer.code, name)
            return answer.payload
        raise ProtocolError(
            f"{name}: {problem} (device at {getattr(self.transport, 'url', '?')}); "
            "is it a ropuf device, powered and running the ropuf bitstream?"
        )

    def _answer(self, seq: int) -> framing.Frame | str | None:
        """The answer to *seq*: a frame, a description of a bad one, or None on silence."""
        while True:
            raw = self.transport.receive(self.timeout)
            if raw is None:
                return None
            try:
                frame = framing.decode_frame(raw)
            except framing.FramingError as exc:
                return f"an answer that does not decode ({exc})"
            unreadable = frame.seq == 0 and frame.code in framing.FRAMING_STATUSES
            if frame.seq != seq and not unreadable:
                logger.info("dropping a stale answer (seq %d, waiting for %d)", frame.seq, seq)
                continue
            return frame

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
        DeviceError
            LOCKED when the device is locked; UNKNOWN_COMMAND on a deployment build.
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
        """Turn raw readout off until the device is reconfigured."""
        self.request(Command.LOCK)
