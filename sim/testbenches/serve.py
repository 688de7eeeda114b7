"""cocotb "testbench" that serves the simulated board: its UART bridged to a TCP port.

It runs until the simulator process is stopped. Settings come from the environment:
``ROPUF_SERVE_PORT`` (0 picks a free port), ``ROPUF_UART_DIVISOR``, ``ROPUF_READY_FILE`` (where
the URL is written once the port listens), and, for a design with an RO array simulation body,
``ROPUF_DIE_SEED``, ``ROPUF_TEMPERATURE``, ``ROPUF_VOLTAGE``, ``ROPUF_NOISE_SEED``,
``ROPUF_RO_GATE`` (the die is loaded through the ``sim`` port before serving).
"""

import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, Timer

from ropuf.sim.bridge import TCPBridge

from .uart_bfm import UARTSink, UARTSource

#: 12 MHz system clock, as on the iCEBreaker (an even number of picoseconds).
CLOCK_PS = 83_334
#: Simulated cycles between looks at the socket while the host is silent.
IDLE_POLL_CYCLES = 2000


async def load_die(dut) -> None:
    """Load the die named by the environment into an RO array's ``sim`` port, if there is one."""
    if not hasattr(dut, "sim__rate_we"):
        return
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


@cocotb.test()
async def serve(dut):
    """Bridge the UART to TCP until the process is stopped."""
    divisor = int(os.environ.get("ROPUF_UART_DIVISOR", "8"))
    dut.rx.value = 1
    dut.rst.value = 1
    Clock(dut.clk, CLOCK_PS, unit="ps").start(start_high=False)
    await ClockCycles(dut.clk, 4, rising=False)
    dut.rst.value = 0
    await load_die(dut)

    bridge = TCPBridge(int(os.environ.get("ROPUF_SERVE_PORT", "0")))
    source = UARTSource(dut.clk, dut.rx, divisor, period_ps=CLOCK_PS)
    sink = UARTSink(
        dut.clk,
        dut.tx,
        divisor,
        on_byte=lambda byte: bridge.send(bytes([byte])),
        period_ps=CLOCK_PS,
    )
    cocotb.start_soon(sink.run())
    if ready := os.environ.get("ROPUF_READY_FILE"):
        with open(ready + ".tmp", "w") as handle:
            handle.write(bridge.url)
        os.replace(ready + ".tmp", ready)
    while True:
        data = bridge.take()
        if not data:
            # One simulator timer, not thousands of clock edges seen from Python.
            await Timer(IDLE_POLL_CYCLES * CLOCK_PS, "ps")
            continue
        for byte in data:
            await source.send(byte)
