"""A cocotb module whose test fails on purpose: the harness must report it (see test_harness)."""

import cocotb
from cocotb.triggers import Timer


@cocotb.test()
async def deliberately_fails(dut):
    await Timer(10, unit="ns")
    assert dut.tx.value == 0, "tx idles high, so this assertion fails"
