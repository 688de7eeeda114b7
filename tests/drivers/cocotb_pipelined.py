"""cocotb testbench: bursts of request bytes sent back to back into a device top's UART.

The device top (``simulation=True``) gets its die through the ``sim`` port, then each burst of
``ROPUF_PIPELINED`` (a JSON file: ``rates``, ``seed``, ``noise_scale``, ``common_scale``,
``divisor``, ``quiet_cycles``, ``bursts`` as hex strings) is driven onto ``rx`` without a
pause; what ``tx`` says is collected until the line has been quiet for ``quiet_cycles``, and
the bytes of each burst's answers are written to ``ROPUF_PIPELINED_OUT`` (JSON, hex strings).
The test (``tests/gateware/core/test_device_top_pipelining.py``) decodes and checks them
against the model.
"""

import json
import os

import cocotb
from cocotb.triggers import ClockCycles, FallingEdge

from ropuf.sim.testbenches.clock import start_clock
from ropuf.sim.testbenches.uart_bfm import UARTSink, UARTSource

CLOCK_PS = 83_334


@cocotb.test()
async def pipelined(dut):
    with open(os.environ["ROPUF_PIPELINED"]) as handle:
        settings = json.load(handle)
    divisor = settings["divisor"]
    dut.rx.value = 1
    dut.rst.value = 1
    start_clock(dut, "clk", CLOCK_PS)
    await ClockCycles(dut.clk, 4, rising=False)
    dut.rst.value = 0
    dut.sim__rate_we.value = 1
    for addr, rate in enumerate(settings["rates"]):
        dut.sim__rate_addr.value = addr
        dut.sim__rate_data.value = rate
        await FallingEdge(dut.clk)
    dut.sim__rate_we.value = 0
    dut.sim__seed.value = settings["seed"]
    dut.sim__noise_scale.value = settings["noise_scale"]
    dut.sim__common_scale.value = settings["common_scale"]
    dut.sim__seed_we.value = 1
    await FallingEdge(dut.clk)
    dut.sim__seed_we.value = 0

    source = UARTSource(dut.clk, dut.rx, divisor, period_ps=CLOCK_PS)
    sink = UARTSink(dut.clk, dut.tx, divisor, period_ps=CLOCK_PS)
    cocotb.start_soon(sink.run())
    answers = []
    step = 10 * divisor * 8  # look at the line every 8 byte times
    for burst in settings["bursts"]:
        start = len(sink.received)
        await source.write(bytes.fromhex(burst))
        quiet, seen = 0, len(sink.received)
        while quiet < settings["quiet_cycles"]:
            await ClockCycles(dut.clk, step, rising=False)
            quiet = quiet + step if len(sink.received) == seen else 0
            seen = len(sink.received)
        answers.append(bytes(sink.received[start:]).hex())
    assert sink.bad_stop_bits == 0
    with open(os.environ["ROPUF_PIPELINED_OUT"], "w") as handle:
        json.dump({"answers": answers}, handle)
