"""cocotb tests that test_harness runs: what a build lets a testbench see, the main-loop clock."""

import os

import cocotb
from cocotb.simtime import get_sim_time
from cocotb.triggers import FallingEdge, RisingEdge, Timer

from ropuf.sim.testbenches.bounded import wait_bounded
from ropuf.sim.testbenches.clock import start_clock


@cocotb.test()
async def visibility(dut):
    """Top-level ports are always there; an internal wire only in an internal_signals build."""
    for port in ("clk", "rst", "rx", "tx"):
        assert hasattr(dut, port), port
    expected = os.environ["ROPUF_EXPECT_INTERNAL"] == "1"
    assert hasattr(dut, "w_data") == expected


@cocotb.test()
async def main_loop_clock(dut):
    """start_clock: the main loop toggles the clock, low first, edges at the usual instants."""
    start = get_sim_time("ps")
    assert start_clock(dut, "clk", 10_000) == os.environ["ROPUF_EXPECT_CLOCK"]
    edges = []
    for _ in range(3):
        await wait_bounded(RisingEdge(dut.clk), cycles=2, clock_ps=10_000, what="clock")
        edges.append((get_sim_time("ps") - start, int(dut.clk.value)))
        await wait_bounded(FallingEdge(dut.clk), cycles=2, clock_ps=10_000, what="clock")
        edges.append((get_sim_time("ps") - start, int(dut.clk.value)))
    assert edges == [(5_000, 1), (10_000, 0), (15_000, 1), (20_000, 0), (25_000, 1), (30_000, 0)]


@cocotb.test()
async def combinational_start(dut):
    """Before any clock edge, an output computed from a register's reset value has its value."""
    await Timer(1, unit="ns")
    assert str(dut.ready.value) == "1", f"ready is {dut.ready.value} before the first edge"
