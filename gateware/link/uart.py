"""UART (8N1) transmitter and receiver with ``lib.stream`` byte interfaces.

The bit period is a whole number of clock cycles, the *divisor*. The receiver synchronises its
input, samples each bit in the middle of its period, checks the start bit again at mid-bit (a
glitch is ignored) and checks the stop bit: a frame whose stop bit is low is dropped and flagged
on ``frame_error``, never passed on as data.
"""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import cdc, stream, wiring
from amaranth.lib.wiring import In, Out

from ropuf.spec.checks import check_int

__all__ = ["MIN_DIVISOR", "UART", "BitTimed", "UARTRx", "UARTTx", "check_divisor", "divisor_for"]

#: The receiver samples at half a bit period, so a bit must last at least this many cycles.
MIN_DIVISOR = 4


def check_divisor(divisor: object) -> int:
    """Return *divisor* if it is a valid bit period: an integer of at least
    :data:`MIN_DIVISOR` clock cycles (else TypeError or ValueError, as
    :func:`ropuf.spec.checks.check_int`)."""
    return check_int("Divisor", divisor, MIN_DIVISOR, unit=" clock cycles")


def divisor_for(clk_hz: float, baud: int, *, tolerance: float = 0.02) -> int:
    """The divisor that makes *baud* from a *clk_hz* clock.

    Raises
    ------
    ValueError
        The nearest divisor misses *baud* by more than *tolerance* (relative), or is below
        :data:`MIN_DIVISOR`.
    """
    if clk_hz <= 0 or baud <= 0:
        raise ValueError(f"Clock and baud rate must be positive, not {clk_hz!r} and {baud!r}")
    divisor = round(clk_hz / baud)
    if divisor < MIN_DIVISOR:
        raise ValueError(
            f"A {clk_hz!r} Hz clock is too slow for {baud!r} baud "
            f"(divisor {divisor!r} < {MIN_DIVISOR})"
        )
    error = abs(clk_hz / divisor - baud) / baud
    if error > tolerance:
        raise ValueError(
            f"{baud!r} baud from a {clk_hz!r} Hz clock is off by {error:.1%} "
            f"(more than {tolerance:.1%}): choose another baud rate"
        )
    return divisor


class BitTimed(wiring.Component):
    """A component timed in bit periods of ``divisor`` clock cycles (checked with
    :func:`check_divisor`); the signature comes from the subclass's annotations.

    Parameters
    ----------
    divisor : int
        Clock cycles per bit, at least :data:`MIN_DIVISOR`.

    Raises
    ------
    TypeError, ValueError
        *divisor* is not an integer of at least :data:`MIN_DIVISOR`.
    """

    def __init__(self, *, divisor: int):
        self._divisor = check_divisor(divisor)
        super().__init__()

    @property
    def divisor(self) -> int:
        return self._divisor


class UARTTx(BitTimed):
    """UART transmitter, 8 data bits, no parity, 1 stop bit, LSB first; *divisor* as for
    :class:`BitTimed`.

    Attributes
    ----------
    i_stream : In(stream.Signature(8))
        Bytes to send. A byte is taken (``ready`` high) while the line is idle or in the last
        cycle of a stop bit; its start bit goes out on the next cycle, so a stream of bytes
        leaves back to back at exactly ten bit periods each.
    tx : Out(1)
        The serial line, high when idle.
    busy : Out(1)
        High from the cycle after a byte is taken until its stop bit has ended.

    Raises
    ------
    TypeError, ValueError
        *divisor* is not an integer of at least :data:`MIN_DIVISOR`.
    """

    i_stream: In(stream.Signature(8))
    tx: Out(1, init=1)
    busy: Out(1)

    def elaborate(self, platform):
        m = Module()

        timer = Signal(range(self._divisor))
        shreg = Signal(10, init=0x3FF)  # stop bit, 8 data bits, start bit (sent LSB first)
        bits_left = Signal(range(11))

        # The next byte may be taken in the last cycle of a stop bit, so frames go back to back.
        last_cycle = (bits_left == 1) & (timer == 0)
        m.d.comb += [
            self.tx.eq(shreg[0]),
            self.busy.eq(bits_left != 0),
            self.i_stream.ready.eq((bits_left == 0) | last_cycle),
        ]
        with m.If(self.i_stream.valid & self.i_stream.ready):
            m.d.sync += [
                shreg.eq(Cat(Const(0, 1), self.i_stream.payload, Const(1, 1))),
                bits_left.eq(10),
                timer.eq(self._divisor - 1),
            ]
        with m.Elif(bits_left == 0):
            pass
        with m.Elif(timer == 0):
            m.d.sync += [
                shreg.eq(Cat(shreg[1:], Const(1, 1))),
                bits_left.eq(bits_left - 1),
                timer.eq(self._divisor - 1),
            ]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)

        return m


class UARTRx(BitTimed):
    """UART receiver, 8 data bits, no parity, 1 stop bit, LSB first; *divisor* as for
    :class:`BitTimed`.

    Attributes
    ----------
    rx : In(1)
        The serial line (asynchronous; synchronised by two flip-flops inside).
    o_stream : Out(stream.Signature(8))
        Received bytes. ``valid`` rises on the cycle after the middle of the stop bit and stays
        until ``ready``.
    frame_error : Out(1)
        One-cycle pulse: a frame ended with a low stop bit and was dropped. The receiver then
        waits for the line to go idle (high) before it looks for the next start bit.
    overrun : Out(1)
        One-cycle pulse: a byte arrived while the previous one was still not taken; the new byte
        was dropped.

    Raises
    ------
    TypeError, ValueError
        *divisor* is not an integer of at least :data:`MIN_DIVISOR`.
    """

    rx: In(1, init=1)
    o_stream: Out(stream.Signature(8))
    frame_error: Out(1)
    overrun: Out(1)

    def elaborate(self, platform):
        m = Module()

        line = Signal(init=1)
        m.submodules.sync = cdc.FFSynchronizer(self.rx, line, init=1)

        timer = Signal(range(self._divisor))
        shreg = Signal(8)
        bits_left = Signal(range(9))

        m.d.sync += [self.frame_error.eq(0), self.overrun.eq(0)]
        with m.If(self.o_stream.ready):
            m.d.sync += self.o_stream.valid.eq(0)

        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    m.d.sync += timer.eq(self._divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(line):
                    m.next = "IDLE"  # a glitch, not a start bit
                with m.Else():
                    m.d.sync += [timer.eq(self._divisor - 1), bits_left.eq(8)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [
                        shreg.eq(Cat(shreg[1:], line)),
                        bits_left.eq(bits_left - 1),
                        timer.eq(self._divisor - 1),
                    ]
                    with m.If(bits_left == 1):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Elif(~line):
                    m.d.sync += self.frame_error.eq(1)
                    m.next = "BREAK"
                with m.Else():
                    with m.If(self.o_stream.valid & ~self.o_stream.ready):
                        m.d.sync += self.overrun.eq(1)
                    with m.Else():
                        m.d.sync += [self.o_stream.payload.eq(shreg), self.o_stream.valid.eq(1)]
                    m.next = "IDLE"
            with m.State("BREAK"):
                with m.If(line):
                    m.next = "IDLE"

        return m


class UART(BitTimed):
    """A UART transmitter and receiver sharing one divisor (*divisor* as for
    :class:`BitTimed`).

    Attributes
    ----------
    i_stream : In(stream.Signature(8))
        Bytes to send (see :class:`UARTTx`).
    o_stream : Out(stream.Signature(8))
        Bytes received (see :class:`UARTRx`).
    tx : Out(1)
        Serial output, high when idle.
    rx : In(1)
        Serial input.
    frame_error, overrun : Out(1)
        Receiver error pulses (see :class:`UARTRx`).
    """

    i_stream: In(stream.Signature(8))
    o_stream: Out(stream.Signature(8))
    tx: Out(1, init=1)
    rx: In(1, init=1)
    frame_error: Out(1)
    overrun: Out(1)

    def elaborate(self, platform):
        m = Module()
        m.submodules.tx = tx = UARTTx(divisor=self._divisor)
        m.submodules.rx = rx = UARTRx(divisor=self._divisor)
        wiring.connect(m, wiring.flipped(self.i_stream), tx.i_stream)
        wiring.connect(m, rx.o_stream, wiring.flipped(self.o_stream))
        m.d.comb += [
            self.tx.eq(tx.tx),
            rx.rx.eq(self.rx),
            self.frame_error.eq(rx.frame_error),
            self.overrun.eq(rx.overrun),
        ]
        return m
