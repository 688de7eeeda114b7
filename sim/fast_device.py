"""The fast model device: a pure-Python device behind the transport interface.

It decodes request frames, answers them with :class:`~ropuf.sim.device_model.DeviceModel`
(the same answers the gateware gives, checked bit for bit by the tests) and encodes the answer
frames, so :class:`~ropuf.host.client.DeviceClient` runs against it unchanged, thousands of
times faster than the Verilator device: for large statistical runs.
"""

import sys

from ropuf.host.transport import Transport
from ropuf.spec import framing

from .device_model import DeviceModel

__all__ = ["FastDevice"]


class FastDevice(Transport):
    """Frames in, frames out, answered by a :class:`DeviceModel`.

    Parameters
    ----------
    model : DeviceModel
        The device's build, die and noise state.
    url : str
        A name for messages (``fast://die-N``).
    """

    def __init__(self, model: DeviceModel, *, url: str = "fast://device"):
        self.model = model
        self.url = url
        # No length limit: like the gateware receiver, the model reads an overlong frame to its
        # delimiter and answers it (BAD_COBS if its COBS is broken anywhere, else OVERSIZE with
        # the sequence number of its header) instead of dropping it.
        self._splitter = framing.FrameSplitter(limit=sys.maxsize)
        self._outbox: list[bytes] = []

    def send(self, frame: bytes) -> None:
        for raw in self._splitter.feed(frame):
            try:
                request = framing.decode_frame(raw)
            except framing.FramingError as exc:
                self._outbox.append(framing.encode_frame(exc.seq, exc.status))
                continue
            status, payload = self.model.handle(request.code, request.payload)
            self._outbox.append(framing.encode_frame(request.seq, status, payload))

    def receive(self, timeout: float) -> bytes | None:
        return self._outbox.pop(0) if self._outbox else None

    def close(self) -> None:
        self._outbox.clear()
