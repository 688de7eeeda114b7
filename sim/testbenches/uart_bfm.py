"""Serial-line bus functional models for cocotb: drive a UART ``rx`` pin, decode a ``tx`` pin.

Both work on whole bit periods of the device clock (*divisor* cycles per bit) and change or
sample the line on falling clock edges, so results agree across simulators.
"""

from collections.abc import Callable

from cocotb.triggers import ClockCycles, FallingEdge

from ropuf.sim.uart_model import frame_bits

__all__ = ["UARTSink", "UARTSource"]


class UARTSource:
    """Drives frames onto a device's ``rx`` pin."""

    def __init__(self, clk, pin, divisor: int):
        self.clk = clk
        self.pin = pin
        self.divisor = divisor
        pin.value = 1

    async def send(self, byte: int, *, stop: int = 1) -> None:
        """One frame (start, eight data bits LSB first, stop), a bit per *divisor* cycles."""
        for bit in frame_bits(byte, stop=stop):
            self.pin.value = bit
            await ClockCycles(self.clk, self.divisor, rising=False)

    async def idle(self, bits: int) -> None:
        """Hold the line high for *bits* bit periods."""
        self.pin.value = 1
        await ClockCycles(self.clk, bits * self.divisor, rising=False)


class UARTSink:
    """Decodes frames from a device's ``tx`` pin, sampling each bit in its middle.

    Every byte is appended to :attr:`received` and passed to *on_byte* if given. Run
    :meth:`run` as a background task (``cocotb.start_soon``).
    """

    def __init__(self, clk, pin, divisor: int, on_byte: Callable[[int], None] | None = None):
        self.clk = clk
        self.pin = pin
        self.divisor = divisor
        self.on_byte = on_byte
        self.received = bytearray()
        self.bad_stop_bits = 0

    async def run(self) -> None:
        while True:
            await FallingEdge(self.pin)
            await ClockCycles(self.clk, self.divisor // 2, rising=False)
            if self.pin.value != 0:
                continue  # a glitch, not a start bit
            bits = []
            for _ in range(9):
                await ClockCycles(self.clk, self.divisor, rising=False)
                bits.append(int(self.pin.value))
            if bits[8] != 1:
                self.bad_stop_bits += 1
                continue
            byte = sum(bit << i for i, bit in enumerate(bits[:8]))
            self.received.append(byte)
            if self.on_byte is not None:
                self.on_byte(byte)
