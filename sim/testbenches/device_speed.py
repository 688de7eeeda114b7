"""cocotb testbench of the simulation-speed figure: the device top answers frames through its UART.

The same module runs on every simulator (``benchmarks/bench_sim_speed.py`` runs it in Verilator
and Icarus on the same design). It resets the design, loads the die as the simulated board does,
sends the request frames of the file named by ``ROPUF_SPEED_FRAMES`` (JSON list of hex strings,
each a whole encoded frame) one after another, each after the answer to the one before, and
writes to ``ROPUF_RESULT`` the answers (hex, one per request), the simulated clock cycles and the
wall seconds of the exchange. Settings as for the board: ``ROPUF_UART_DIVISOR``, ``ROPUF_RO_N``,
``ROPUF_RO_GATE``, ``ROPUF_DIE_SEED``, ``ROPUF_TEMPERATURE``, ``ROPUF_NOISE_SEED``.
"""

import json
import os
import time

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import Event

from .bounded import wait_bounded
from .serve import CLOCK_PS, start_device
from .uart_bfm import UARTSink, UARTSource

#: Bound on one answer, in clock cycles: far more than any request of the benchmark takes.
ANSWER_BOUND = 5_000_000


@cocotb.test()
async def exchange(dut):
    """Send each frame, wait for its answer; record answers, cycles and wall time."""
    divisor = int(os.environ["ROPUF_UART_DIVISOR"])
    with open(os.environ["ROPUF_SPEED_FRAMES"]) as handle:
        frames = [bytes.fromhex(frame) for frame in json.load(handle)]
    clock = await start_device(dut)

    answered = Event()
    current = bytearray()
    answers: list[bytes] = []

    def on_byte(byte: int) -> None:
        current.append(byte)
        if byte == 0:  # a frame delimiter ends the answer
            answers.append(bytes(current))
            current.clear()
            answered.set()

    source = UARTSource(dut.clk, dut.rx, divisor, period_ps=CLOCK_PS)
    sink = UARTSink(dut.clk, dut.tx, divisor, on_byte=on_byte, period_ps=CLOCK_PS)
    cocotb.start_soon(sink.run())

    sim_start, wall_start = get_sim_time("ps"), time.perf_counter()
    for index, frame in enumerate(frames):
        answered.clear()
        await source.write(frame)
        while len(answers) <= index:
            await wait_bounded(
                answered.wait(), cycles=ANSWER_BOUND, clock_ps=CLOCK_PS,
                what=f"answer request {index}",
            )  # fmt: skip
            answered.clear()
    wall = time.perf_counter() - wall_start
    cycles = (get_sim_time("ps") - sim_start) / CLOCK_PS
    with open(os.environ["ROPUF_RESULT"], "w") as handle:
        json.dump(
            {
                "answers": [answer.hex() for answer in answers],
                "cycles": cycles,
                "wall_seconds": wall,
                "clock": clock,
            },
            handle,
        )
