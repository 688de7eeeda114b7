"""A UART that echoes every byte it receives: the first design through the whole harness."""

from amaranth.hdl import Module
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

from .uart import UART, check_divisor

__all__ = ["UARTLoopback"]


class UARTLoopback(wiring.Component):
    """Echo received bytes back through a small FIFO.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit (see :class:`~ropuf.gateware.link.uart.UART`).
    depth : int
        FIFO depth in bytes between receiver and transmitter, so that a sender whose clock runs
        slightly fast does not overrun the echo.

    Attributes
    ----------
    rx : In(1)
        Serial input.
    tx : Out(1)
        Serial output (the echo).
    frame_error, overrun : Out(1)
        The receiver's error pulses.
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)
    frame_error: Out(1)
    overrun: Out(1)

    def __init__(self, *, divisor: int, depth: int = 8):
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"FIFO depth must be a positive integer, not {depth!r}")
        self._divisor = check_divisor(divisor)
        self._depth = depth
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart = uart = UART(divisor=self._divisor)
        m.submodules.fifo = buffer = fifo.SyncFIFOBuffered(width=8, depth=self._depth)
        wiring.connect(m, uart.o_stream, buffer.w_stream)
        wiring.connect(m, buffer.r_stream, uart.i_stream)
        m.d.comb += [
            uart.rx.eq(self.rx),
            self.tx.eq(uart.tx),
            self.frame_error.eq(uart.frame_error),
            self.overrun.eq(uart.overrun),
        ]
        return m
