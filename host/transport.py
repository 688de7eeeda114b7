"""Byte transports to a device: a serial port, a simulated board's TCP port, or a model.

Every transport moves whole frames (:mod:`ropuf.spec.framing`): :meth:`send` writes one
encoded frame, :meth:`receive` returns the next complete encoded frame or ``None`` when the time
is up. :class:`SerialTransport` opens anything pyserial's ``serial_for_url`` does: a port such as
``/dev/ttyUSB1``, ``socket://localhost:5007`` for a simulated board, ``loop://`` in tests.
"""

import time
from abc import ABC, abstractmethod

import serial

from ropuf.spec.errors import RopufError
from ropuf.spec.framing import FrameSplitter

from .closing import Closing

__all__ = ["SerialTransport", "Transport", "TransportError"]


class TransportError(RopufError):
    """The link to the device cannot be opened or has failed."""


class Transport(Closing, ABC):
    """A link that carries encoded frames."""

    @abstractmethod
    def send(self, frame: bytes) -> None:
        """Write one encoded frame (COBS bytes and the delimiter)."""

    @abstractmethod
    def receive(self, timeout: float) -> bytes | None:
        """The next complete encoded frame, or ``None`` after *timeout* seconds."""

    @abstractmethod
    def close(self) -> None:
        """Release the link."""


class SerialTransport(Transport):
    """A pyserial port (any ``serial_for_url`` URL).

    Parameters
    ----------
    url : str
        ``/dev/ttyUSB1``, ``COM3``, ``socket://host:port``, ``loop://``, ...
    baudrate : int
        Line rate of a real port (the boards use 115,200; ignored by sockets).

    Raises
    ------
    TransportError
        The port cannot be opened; the message says what to check.
    """

    def __init__(self, url: str, *, baudrate: int = 115_200):
        self.url = url
        try:
            self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.02)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise TransportError(
                f"cannot open {url}: {exc}. Check that the board is connected and that you may "
                "use the port (e.g. the dialout group), or that 'ropuf sim serve' is running "
                "for a socket:// URL"
            ) from None
        self._splitter = FrameSplitter()
        self._ready: list[bytes] = []

    def send(self, frame: bytes) -> None:
        try:
            self._port.write(frame)
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"cannot write to {self.url}: {exc}") from None

    def receive(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while not self._ready:
            if time.monotonic() > deadline:
                return None
            try:
                data = self._port.read(self._port.in_waiting or 1)
            except (serial.SerialException, OSError) as exc:
                raise TransportError(f"cannot read from {self.url}: {exc}") from None
            self._ready.extend(self._splitter.feed(data))
        return self._ready.pop(0)

    def close(self) -> None:
        self._port.close()
