"""A device that answers every frame: the framed protocol's demo and test vehicle.

UART -> FIFO -> :class:`~ropuf.gateware.link.framing.FrameReceiver` ->
:class:`~ropuf.gateware.link.framing.FrameTransmitter` -> UART. A request that passes every check is
answered ``OK`` with its payload echoed (whatever its command code); a malformed one with its
framing error and an empty payload.
"""

from amaranth.hdl import Module
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from ropuf.spec.framing import MAX_PAYLOAD, check_max_payload

from .framing import FrameReceiver, FrameTransmitter
from .uart import UART, BitTimed

__all__ = ["FrameEcho"]


class FrameEcho(BitTimed):
    """Echo each request frame's payload in an ``OK`` response; answer errors with their status.

    Parameters
    ----------
    divisor : int
        Clock cycles per UART bit (see :class:`~ropuf.gateware.link.uart.UART`).
    fifo_depth : int
        Bytes of the FIFO between the UART receiver and the frame receiver. The frame receiver
        takes no bytes while it hands a frame over (two cycles plus the payload replay, at the
        transmitter's pace: eight cycles a byte, for its bit-serial CRC); the FIFO holds what
        arrives meanwhile, so that frames sent back to back are not lost to UART overruns. The
        default, 64, covers a 256-byte payload at divisor 4 (2,048 cycles, 52 bytes on the
        line); fewer will do at a larger divisor.
    max_payload : int
        The receiver's payload buffer (see :class:`~ropuf.gateware.link.framing.FrameReceiver`).

    Attributes
    ----------
    rx : In(1)
        Serial input (requests).
    tx : Out(1)
        Serial output (responses). A response's first start bit follows the request's last stop
        bit by a few tens of cycles whatever the payload length (30 at divisor 4): the status
        byte of the response (0x00 for ``OK``; the zero length field of an error response) ends
        its first COBS block, so the encoder need not wait for the payload before sending.
    frame_error, overrun : Out(1)
        The UART receiver's error pulses (see :class:`~ropuf.gateware.link.uart.UARTRx`).

    Raises
    ------
    TypeError, ValueError
        *divisor* is not a valid UART divisor, *fifo_depth* is not a positive integer, or
        *max_payload* is not in 0..256.
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)
    frame_error: Out(1)
    overrun: Out(1)

    def __init__(self, *, divisor: int, fifo_depth: int = 64, max_payload: int = MAX_PAYLOAD):
        super().__init__(divisor=divisor)
        if not isinstance(fifo_depth, int) or isinstance(fifo_depth, bool) or fifo_depth < 1:
            raise ValueError(f"FIFO depth must be a positive integer, not {fifo_depth!r}")
        self._fifo_depth = fifo_depth
        self._max_payload = check_max_payload(max_payload)

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart = uart = UART(divisor=self._divisor)
        m.submodules.fifo = buffer = fifo.SyncFIFOBuffered(width=8, depth=self._fifo_depth)
        m.submodules.receiver = receiver = FrameReceiver(max_payload=self._max_payload)
        m.submodules.transmitter = transmitter = FrameTransmitter()

        wiring.connect(m, uart.o_stream, buffer.w_stream)
        wiring.connect(m, buffer.r_stream, receiver.i_stream)
        wiring.connect(m, receiver.o_payload, transmitter.i_payload)
        wiring.connect(m, transmitter.o_stream, uart.i_stream)

        request, response = receiver.o_header, transmitter.i_header
        m.d.comb += [
            response.valid.eq(request.valid),
            request.ready.eq(response.ready),
            response.payload.seq.eq(request.payload.seq),
            response.payload.status.eq(request.payload.status),
            # An error header has length 0: the response to it carries no payload.
            response.payload.length.eq(request.payload.length),
            receiver.skip.eq(0),
            uart.rx.eq(self.rx),
            self.tx.eq(uart.tx),
            self.frame_error.eq(uart.frame_error),
            self.overrun.eq(uart.overrun),
        ]
        return m
