"""cocotb testbench of a command handler (the key engine) in Verilator: requests in, answers and
cycle counts out.

The Verilator counterpart of :func:`ropuf.sim.handler_driver.drive_handler`, for requests too
long for Amaranth's simulator (IDENTITY and SIGN run the P-256 engine: millions of cycles).
The job comes from the JSON file ``ROPUF_HANDLER_JOB`` names (:func:`write_job`): the requests
(code, payload) and the RO array stand-in's answers (each pair's soft value
``(rates[a] - rates[b]) >> shift``, put at ``soft_offset`` of the result word). The answers,
``[status, payload (hex), cycles from start to done]`` each, go to the JSON file
``ROPUF_RESULT`` names. Nothing is printed: a payload may be a test's secret.

A LOCK request (which the command processor serves, not a handler) is not sent: it raises
the handler's ``locked`` input from then on, as the processor's LOCK does, and is answered
``[0, "", 0]`` (OK, as the device model answers it).
"""

import json
import os
from pathlib import Path

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, FallingEdge

from ropuf.spec.commands import Command, Status

from .bounded import wait_high
from .clock import start_clock

__all__ = ["JOB_ENV", "write_job"]

#: Environment variable naming the JSON job file.
JOB_ENV = "ROPUF_HANDLER_JOB"
#: Clock period in ps (25 MHz).
CLOCK_PS = 40_000
#: Most cycles one request may take before the testbench gives up.
MAX_CYCLES = 4_000_000


def write_job(path: Path, requests, *, rates, shift: int, soft_offset: int, soft_width: int):
    """Write the testbench's job: ``(code, payload)`` *requests* and the RO stand-in."""
    path.write_text(
        json.dumps(
            {
                "requests": [[int(code), bytes(payload).hex()] for code, payload in requests],
                "rates": [int(r) for r in rates],
                "shift": shift,
                "soft_offset": soft_offset,
                "soft_width": soft_width,
            }
        )
    )


async def _ro_array(dut, job) -> None:
    # Levels are read at falling edges (wait_high): what they show is taken at the next rising
    # edge. Between pairs the testbench waits on edges, not cycle by cycle.
    rates, shift = job["rates"], job["shift"]
    mask = (1 << job["soft_width"]) - 1
    dut.ro_pairs__ready.value = 1
    while True:
        await wait_high(dut.ro_pairs__valid, dut.clk, cycles=2**40, clock_ps=CLOCK_PS,
                        what="a pair")  # fmt: skip
        pair = int(dut.ro_pairs__payload.value)
        a, b = pair & 0xFFFF, pair >> 16
        await FallingEdge(dut.clk)  # the pair was taken
        dut.ro_pairs__ready.value = 0
        soft = (rates[a] - rates[b]) >> shift
        dut.ro_results__payload.value = (soft & mask) << job["soft_offset"]
        dut.ro_results__valid.value = 1
        await wait_high(dut.ro_results__ready, dut.clk, cycles=64, clock_ps=CLOCK_PS,
                        what="the result taken")  # fmt: skip
        await FallingEdge(dut.clk)
        dut.ro_results__valid.value = 0
        dut.ro_pairs__ready.value = 1


async def _request(dut, code: int, payload: bytes) -> list:
    dut.h__code.value = code
    dut.h__length.value = len(payload)
    dut.h__start.value = 1
    await FallingEdge(dut.clk)
    dut.h__start.value = 0
    began = get_sim_time("ps") - CLOCK_PS
    for byte in payload:
        dut.h__payload__payload.value = byte
        dut.h__payload__valid.value = 1
        await wait_high(dut.h__payload__ready, dut.clk, cycles=64, clock_ps=CLOCK_PS,
                        what="a payload byte taken")  # fmt: skip
        await FallingEdge(dut.clk)
    dut.h__payload__valid.value = 0
    await wait_high(dut.h__done, dut.clk, cycles=MAX_CYCLES, clock_ps=CLOCK_PS,
                    what=f"the answer to command {code:#x}")  # fmt: skip
    cycles = (get_sim_time("ps") - began) // CLOCK_PS
    data = bytearray()
    dut.h__response__ready.value = 1
    for _ in range(int(dut.h__out_length.value)):
        await wait_high(dut.h__response__valid, dut.clk, cycles=64, clock_ps=CLOCK_PS,
                        what="an answer byte")  # fmt: skip
        data.append(int(dut.h__response__payload.value))
        await FallingEdge(dut.clk)
    dut.h__response__ready.value = 0
    return [int(dut.h__status.value), data.hex(), int(cycles)]


@cocotb.test()
async def requests(dut):
    """Every request of the job, in order; the answers to ``ROPUF_RESULT``."""
    job = json.loads(Path(os.environ[JOB_ENV]).read_text())
    for name in ("h__start", "h__payload__valid", "h__response__ready", "h__locked"):
        getattr(dut, name).value = 0
    dut.ro_results__valid.value = 0
    dut.rst.value = 1
    start_clock(dut, "clk", CLOCK_PS)
    await ClockCycles(dut.clk, 4, rising=False)
    dut.rst.value = 0
    cocotb.start_soon(_ro_array(dut, job))
    answers = []
    for code, payload in job["requests"]:
        if code == Command.LOCK:
            dut.h__locked.value = 1
            answers.append([int(Status.OK), "", 0])
        else:
            answers.append(await _request(dut, code, bytes.fromhex(payload)))
    Path(os.environ["ROPUF_RESULT"]).write_text(json.dumps(answers))
