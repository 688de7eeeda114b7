"""cocotb "testbench" that serves the simulated board: its UART bridged to a TCP port.

It runs until the simulator process is stopped. Settings come from the environment:
``ROPUF_SERVE_PORT`` (0 picks a free port), ``ROPUF_UART_DIVISOR``, ``ROPUF_READY_FILE`` (where
the URL is written once the port listens), ``ROPUF_SERVE_STATS`` (optional: a JSON file kept up
to date with the simulated cycles, the wall time and the bytes moved, see :class:`Stats`), and,
for a design with an RO array simulation body, ``ROPUF_DIE_SEED``, ``ROPUF_TEMPERATURE``,
``ROPUF_VOLTAGE``, ``ROPUF_NOISE_SEED``, ``ROPUF_RO_GATE`` (the die is loaded through the ``sim``
port before serving).

Simulated time stands still while the device owes nothing. The protocol answers every non-empty
frame with exactly one frame (``docs/protocol.md``), so once the device has answered every frame
the host sent, it has nothing to do until the host speaks: the simulation then blocks on the
socket (no CPU used) and resumes the moment bytes arrive. While an answer is owed, it runs
freely and looks at the socket every ``IDLE_POLL_CYCLES``. The answers do not depend on how long
the device idled (its noise generator steps once per measurement), so they are the same.

What is owed survives the client: when one disconnects while its answers are still being worked
out, the simulation runs on until they are out. They go to the next client if one has connected
by then (as a serial line delivers what the device sends to whoever opened the port; the client
drops answers whose sequence number is not its request's), else nowhere. Were the debt
forgotten, the board would pause before its next answer was out and from then on answer one
request behind.
"""

import json
import os
import time
from collections.abc import Iterable

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge, Timer

from ropuf.sim.bridge import TCPBridge

from .arbiter_load import load_arbiter
from .clock import start_clock
from .uart_bfm import UARTSink, UARTSource

#: 12 MHz system clock, as on the iCEBreaker (an even number of picoseconds).
CLOCK_PS = 83_334
#: Simulated cycles between looks at the socket while an answer is owed.
IDLE_POLL_CYCLES = 2000
#: Wall seconds of one blocking wait on the socket while the device owes nothing (it returns as
#: soon as bytes arrive; a longer wait only means fewer wake-ups of an idle board).
IDLE_WAIT_SECONDS = 0.5


async def load_die(dut) -> None:
    """Load the die named by the environment into an RO array's ``sim`` port, if there is one."""
    if not hasattr(dut, "sim__rate_we"):
        return
    # Imported here: only a design with an RO array needs the model (numpy) in the simulator.
    from ropuf.sim.ro_measure import sim_load
    from ropuf.sim.silicon import Die

    n_ro = int(os.environ["ROPUF_RO_N"])
    voltage = os.environ.get("ROPUF_VOLTAGE")
    load = sim_load(
        Die(int(os.environ.get("ROPUF_DIE_SEED", "0")), n_ro=n_ro),
        float(os.environ.get("ROPUF_TEMPERATURE", "25")),
        float(voltage) if voltage else None,
        clock_hz=1e12 / CLOCK_PS,
        gate_cycles=int(os.environ["ROPUF_RO_GATE"]),
    )
    dut.sim__rate_we.value = 1
    for addr, rate in enumerate(load.rates):
        dut.sim__rate_addr.value = addr
        dut.sim__rate_data.value = int(rate)
        await FallingEdge(dut.clk)
    dut.sim__rate_we.value = 0
    dut.sim__seed.value = int(os.environ.get("ROPUF_NOISE_SEED", "1"))
    dut.sim__noise_scale.value = load.noise_scale
    dut.sim__common_scale.value = load.common_scale
    dut.sim__seed_we.value = 1
    await FallingEdge(dut.clk)
    dut.sim__seed_we.value = 0


class FrameCounter:
    """Counts the non-empty frames of a byte stream (every ``0x00`` ends one)."""

    def __init__(self):
        self._open = False

    def feed(self, data: Iterable[int]) -> int:
        """Frames that *data* ends."""
        ended = 0
        for byte in data:
            if byte == 0:
                ended += self._open
                self._open = False
            else:
                self._open = True
        return ended


class Stats:
    """What the board did since it started serving, written to ``ROPUF_SERVE_STATS`` if set.

    ``cycles``: simulated clock cycles; ``busy_seconds``: wall time spent simulating;
    ``paused_seconds``: wall time waiting for the host with nothing owed; ``bytes_in`` and
    ``bytes_out``: bytes from and to the host; ``requests`` and ``answers``: frames; ``clock``:
    what toggles the clock (``"main loop"`` or ``"cocotb"``).
    """

    def __init__(self, path: str | None, clock: str):
        self.path = path
        self.clock = clock
        self.start_ps = get_sim_time("ps")
        self.start_wall = time.perf_counter()
        self.paused_seconds = 0.0
        self.bytes_in = self.bytes_out = self.requests = self.answers = 0

    def write(self) -> None:
        if not self.path:
            return
        wall = time.perf_counter() - self.start_wall
        figures = {
            "cycles": (get_sim_time("ps") - self.start_ps) // CLOCK_PS,
            "busy_seconds": wall - self.paused_seconds,
            "paused_seconds": self.paused_seconds,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "requests": self.requests,
            "answers": self.answers,
            "clock": self.clock,
        }
        with open(self.path + ".tmp", "w") as handle:
            json.dump(figures, handle)
        os.replace(self.path + ".tmp", self.path)


async def start_device(dut) -> str:
    """Start the device top's clock, reset it with its line idle, and load the dies the
    environment names; returns how the clock is driven (:func:`start_clock`)."""
    dut.rx.value = 1
    dut.rst.value = 1
    clock = start_clock(dut, "clk", CLOCK_PS)
    await ClockCycles(dut.clk, 4, rising=False)
    dut.rst.value = 0
    await load_die(dut)
    await load_arbiter(dut)
    return clock


@cocotb.test()
async def serve(dut):
    """Bridge the UART to TCP until the process is stopped."""
    divisor = int(os.environ.get("ROPUF_UART_DIVISOR", "8"))
    clock = await start_device(dut)

    bridge = TCPBridge(int(os.environ.get("ROPUF_SERVE_PORT", "0")))
    stats = Stats(os.environ.get("ROPUF_SERVE_STATS"), clock)
    requests, answers = FrameCounter(), FrameCounter()
    owed = 0  # frames the host sent that the device has not answered yet
    outgoing = bytearray()

    def on_byte(byte: int) -> None:
        nonlocal owed
        outgoing.append(byte)
        stats.bytes_out += 1
        ended = answers.feed((byte,))
        if byte == 0:  # the end of a frame: send it whole, at once
            stats.answers += ended
            owed = max(0, owed - ended)
            if owed == 0:
                stats.write()  # before the host has the answer, so it reads figures up to it
            flush()

    def flush() -> None:
        if outgoing:
            bridge.send(bytes(outgoing))
            outgoing.clear()

    source = UARTSource(dut.clk, dut.rx, divisor, period_ps=CLOCK_PS)
    sink = UARTSink(dut.clk, dut.tx, divisor, on_byte=on_byte, period_ps=CLOCK_PS)
    cocotb.start_soon(sink.run())
    if ready := os.environ.get("ROPUF_READY_FILE"):
        with open(ready + ".tmp", "w") as handle:
            handle.write(bridge.url)
        os.replace(ready + ".tmp", ready)
    while True:
        flush()  # bytes that end no frame (noise, a half frame) go out at the latest now
        data = bridge.take()
        if not data and owed == 0:
            stats.write()
            paused = time.perf_counter()
            data = bridge.wait(IDLE_WAIT_SECONDS)  # simulated time stands still meanwhile
            stats.paused_seconds += time.perf_counter() - paused
        if not data:
            if owed:
                # One simulator timer, not thousands of clock edges seen from Python.
                await Timer(IDLE_POLL_CYCLES * CLOCK_PS, "ps")
            continue
        sent = requests.feed(data)
        stats.bytes_in += len(data)
        stats.requests += sent
        owed += sent
        await source.write(data)
