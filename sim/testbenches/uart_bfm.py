"""Serial-line bus functional models for cocotb: drive a UART ``rx`` pin, decode a ``tx`` pin.

Both work on whole bit periods of the device clock (*divisor* cycles per bit) and change or
sample the line on falling clock edges, so results agree across simulators. Given the clock
period (*period_ps*), they wait with one simulator timer per bit instead of counting clock
edges in Python, which is several times faster; the line then changes and is sampled at the
same instants (the clock starts low at time 0, so whole periods land on falling edges).
"""

from collections.abc import Callable

from cocotb.triggers import ClockCycles, FallingEdge, Timer

from ropuf.sim.uart_model import frame_bits

__all__ = ["UARTSink", "UARTSource"]


def _waiter(clk, period_ps: int | None):
    if period_ps is None:
        return lambda cycles: ClockCycles(clk, cycles, rising=False)
    return lambda cycles: Timer(cycles * period_ps, "ps")


class UARTSource:
    """Drives frames onto a device's ``rx`` pin."""

    def __init__(self, clk, pin, divisor: int, *, period_ps: int | None = None):
        self.clk = clk
        self.pin = pin
        self.divisor = divisor
        self._wait = _waiter(clk, period_ps)
        pin.value = 1

    async def send(self, byte: int, *, stop: int = 1) -> None:
        """One frame (start, eight data bits LSB first, stop), a bit per *divisor* cycles."""
        for bit in frame_bits(byte, stop=stop):
            self.pin.value = bit
            await self._wait(self.divisor)

    async def idle(self, bits: int) -> None:
        """Hold the line high for *bits* bit periods."""
        self.pin.value = 1
        await self._wait(bits * self.divisor)


class UARTSink:
    """Decodes frames from a device's ``tx`` pin, sampling each bit in its middle.

    Every byte is appended to :attr:`received` and passed to *on_byte* if given. Run
    :meth:`run` as a background task (``cocotb.start_soon``).
    """

    def __init__(
        self,
        clk,
        pin,
        divisor: int,
        on_byte: Callable[[int], None] | None = None,
        *,
        period_ps: int | None = None,
    ):
        self._wait = _waiter(clk, period_ps)
        self._timed = period_ps is not None
        self.clk = clk
        self.pin = pin
        self.divisor = divisor
        self.on_byte = on_byte
        self.received = bytearray()
        self.bad_stop_bits = 0

    async def run(self) -> None:
        while True:
            await FallingEdge(self.pin)
            if self._timed:
                await FallingEdge(self.clk)  # the line falls after a rising edge: realign
            await self._wait(self.divisor // 2)
            if self.pin.value != 0:
                continue  # a glitch, not a start bit
            bits = []
            for _ in range(9):
                await self._wait(self.divisor)
                bits.append(int(self.pin.value))
            if bits[8] != 1:
                self.bad_stop_bits += 1
                continue
            byte = sum(bit << i for i, bit in enumerate(bits[:8]))
            self.received.append(byte)
            if self.on_byte is not None:
                self.on_byte(byte)
