"""Serial-line bus functional models for cocotb: drive a UART ``rx`` pin, decode a ``tx`` pin.

Both work on whole bit periods of the device clock (*divisor* cycles per bit) and change or
sample the line on falling clock edges, so results agree across simulators. Given the clock
period (*period_ps*), they wait with simulator timers instead of counting clock edges in Python,
which is several times faster; the line then changes and is sampled at the same instants (the
clock starts low at time 0, so whole periods land on falling edges).

A wake-up of Python costs more than a clock cycle of the model, so both count them: the source
drives a run of equal line levels (bits of a byte and of the next) with one wait, the timed sink
goes from the start bit's edge to its middle with one, and timers are made once and reused.
"""

from collections.abc import Callable, Iterable

from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge, Timer

from ropuf.sim.uart_model import frame_bits

__all__ = ["UARTSink", "UARTSource"]


def _waiter(clk, period_ps: int | None):
    if period_ps is None:
        return lambda cycles: ClockCycles(clk, cycles, rising=False)
    timers: dict[int, Timer] = {}  # a timer can be awaited again: one per length, not per wait

    def wait(cycles: int) -> Timer:
        if (timer := timers.get(cycles)) is None:
            timer = timers[cycles] = Timer(cycles * period_ps, "ps")
        return timer

    return wait


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
        await self._drive(frame_bits(byte, stop=stop))

    async def write(self, data: Iterable[int]) -> None:
        """Frames for every byte of *data*, back to back (what :meth:`send` does byte by byte,
        with the same line levels at the same instants, in fewer waits)."""
        levels: list[int] = []
        for byte in data:
            levels += frame_bits(byte)
        await self._drive(levels)

    async def idle(self, bits: int) -> None:
        """Hold the line high for *bits* bit periods."""
        self.pin.value = 1
        await self._wait(bits * self.divisor)

    async def _drive(self, levels: list[int]) -> None:
        # One write and one wait per run of equal levels: a level held for k bits is the same
        # line as k writes of it, one per bit.
        start = 0
        while start < len(levels):
            end = start + 1
            while end < len(levels) and levels[end] == levels[start]:
                end += 1
            self.pin.value = levels[start]
            await self._wait((end - start) * self.divisor)
            start = end


class UARTSink:
    """Decodes frames from a device's ``tx`` pin, sampling each bit in its middle.

    Every byte is appended to :attr:`received` and passed to *on_byte* if given. Run
    :meth:`run` as a background task (``cocotb.start_soon``).

    With *period_ps*, the sink wakes 11 times per byte: at the start bit's falling edge, at its
    middle (to reject a glitch), and at the middle of every other bit. (Waking at the line's
    changes instead, about 5 per byte, is no faster in Verilator: a value-change callback that
    stays registered is checked at every evaluation of the model.)
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
        self._period = period_ps
        self.clk = clk
        self.pin = pin
        self.divisor = divisor
        self.on_byte = on_byte
        self.received = bytearray()
        self.bad_stop_bits = 0

    async def run(self) -> None:
        if self._period is None:
            await self._run_sampled()
        else:
            await self._run_timed(self._period)

    def _byte(self, bits: list[int]) -> None:
        if bits[8] != 1:
            self.bad_stop_bits += 1
            return
        byte = sum(bit << i for i, bit in enumerate(bits[:8]))
        self.received.append(byte)
        if self.on_byte is not None:
            self.on_byte(byte)

    async def _run_sampled(self) -> None:
        while True:
            await FallingEdge(self.pin)
            await self._wait(self.divisor // 2)
            if self.pin.value != 0:
                continue  # a glitch, not a start bit
            bits = []
            for _ in range(9):
                await self._wait(self.divisor)
                bits.append(int(self.pin.value))
            self._byte(bits)

    async def _run_timed(self, period: int) -> None:
        pin, fall, one_bit = self.pin, FallingEdge(self.pin), self._wait(self.divisor)
        while True:
            await fall
            fell = get_sim_time("ps")
            # The next falling clock edge (the line falls after a rising one), half a bit on:
            # one timer for what the untimed sink waits for in two steps.
            middle = (fell // period + 1) * period + (self.divisor // 2) * period
            await Timer(middle - fell, "ps")
            if pin.value != 0:
                continue  # a glitch, not a start bit
            bits = []
            for _ in range(9):
                await one_bit
                bits.append(int(pin.value))
            self._byte(bits)
