"""cocotb testbench of :class:`~ropuf.gateware.link.uart_loopback.UARTLoopback`.

Drives the ``rx`` pin with frames from the reference line model and decodes ``tx`` by sampling
mid-bit. Parameters arrive as environment variables (see :class:`Params`). When
``ROPUF_RESULT`` names a file, the random-bytes test writes its figures there as JSON.
"""

import json
import os
import random
import time
from dataclasses import dataclass

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge

from .uart_bfm import UARTSink, UARTSource

#: Clock period of the simulation in ps: 12 MHz like the iCEBreaker's oscillator (rounded to an
#: even number of picoseconds, as the clock needs two equal halves).
CLOCK_PS = 83_334


@dataclass(frozen=True)
class Params:
    """Testbench parameters, from ``ROPUF_UART_DIVISOR``, ``ROPUF_UART_BYTES``,
    ``ROPUF_UART_SEED``."""

    divisor: int
    n_bytes: int
    seed: int

    @classmethod
    def from_env(cls) -> "Params":
        return cls(
            divisor=int(os.environ.get("ROPUF_UART_DIVISOR", "8")),
            n_bytes=int(os.environ.get("ROPUF_UART_BYTES", "200")),
            seed=int(os.environ.get("ROPUF_UART_SEED", "1")),
        )


class TB:
    """Owns the clock, reset, the serial source and sink, and the error-pulse counters."""

    def __init__(self, dut, divisor: int):
        self.dut = dut
        self.divisor = divisor
        self.source = UARTSource(dut.clk, dut.rx, divisor)
        self.sink = UARTSink(dut.clk, dut.tx, divisor)
        self.frame_errors = 0
        self.overruns = 0

    @property
    def received(self) -> bytearray:
        return self.sink.received

    async def start(self) -> None:
        dut = self.dut
        dut.rst.value = 1
        Clock(dut.clk, CLOCK_PS, unit="ps").start(start_high=False)
        await ClockCycles(dut.clk, 4, rising=False)
        dut.rst.value = 0
        await ClockCycles(dut.clk, 2 * self.divisor, rising=False)
        cocotb.start_soon(self.sink.run())
        cocotb.start_soon(self._count(dut.frame_error, "frame_errors"))
        cocotb.start_soon(self._count(dut.overrun, "overruns"))

    async def send(self, byte: int, *, stop: int = 1) -> None:
        await self.source.send(byte, stop=stop)

    async def idle(self, bits: int) -> None:
        await self.source.idle(bits)

    async def _count(self, signal, attribute: str) -> None:
        while True:
            await RisingEdge(signal)
            setattr(self, attribute, getattr(self, attribute) + 1)

    async def wait_for(self, count: int, *, timeout_bits: int) -> None:
        for _ in range(timeout_bits):
            if len(self.received) >= count:
                return
            await ClockCycles(self.dut.clk, self.divisor, rising=False)
        raise AssertionError(f"echo stalled: {len(self.received)} of {count} bytes came back")


@cocotb.test()
async def loopback_random_bytes(dut):
    """Random bytes sent back to back come back unchanged, with no error pulse."""
    params = Params.from_env()
    rng = random.Random(params.seed)
    data = bytes([0x00, 0xFF, 0x55, 0xAA]) + rng.randbytes(max(0, params.n_bytes - 4))
    tb = TB(dut, params.divisor)
    await tb.start()

    wall_start, sim_start = time.perf_counter(), get_sim_time("ps")
    for byte in data:
        await tb.send(byte)
    await tb.wait_for(len(data), timeout_bits=40)
    wall = time.perf_counter() - wall_start
    cycles = (get_sim_time("ps") - sim_start) / CLOCK_PS

    assert bytes(tb.received) == data
    assert tb.frame_errors == 0
    assert tb.overruns == 0
    assert tb.sink.bad_stop_bits == 0

    if result := os.environ.get("ROPUF_RESULT"):
        with open(result, "w") as handle:
            json.dump(
                {
                    "bytes": len(data),
                    "divisor": params.divisor,
                    "cycles": round(cycles),
                    "wall_seconds": wall,
                    "cycles_per_second": cycles / wall,
                    "bytes_per_second": len(data) / wall,
                },
                handle,
            )


@cocotb.test()
async def bad_stop_bit_is_flagged_not_echoed(dut):
    """A frame with a low stop bit raises ``frame_error`` and is dropped; the next byte passes."""
    params = Params.from_env()
    tb = TB(dut, params.divisor)
    await tb.start()

    await tb.send(0x3C, stop=0)
    await tb.idle(2)
    await tb.send(0xC3)
    await tb.send(0x00, stop=0)
    await tb.idle(1)
    await tb.send(0x7E)
    await tb.wait_for(2, timeout_bits=40)
    await tb.idle(12)

    assert bytes(tb.received) == bytes([0xC3, 0x7E])
    assert tb.frame_errors == 2
    assert tb.overruns == 0
