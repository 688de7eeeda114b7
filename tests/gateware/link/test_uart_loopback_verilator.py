"""The UART loopback in Verilator (and, on request, Icarus) through the cocotb harness."""

import pytest

from ropuf.gateware.link.uart_loopback import UARTLoopback
from ropuf.sim import harness

TESTBENCH = "ropuf.sim.testbenches.uart_loopback"


@pytest.mark.sim
@pytest.mark.parametrize("divisor", [4, 13])
def test_uart_loopback_verilator(divisor):
    build = harness.build(UARTLoopback(divisor=divisor), f"uart_loopback_d{divisor}")
    result = harness.run(
        build,
        TESTBENCH,
        env={"ROPUF_UART_DIVISOR": str(divisor), "ROPUF_UART_BYTES": "300"},
        seed=divisor,
    )
    assert result.tests == 2


@pytest.mark.sim
@pytest.mark.icarus
def test_uart_loopback_icarus():
    build = harness.build(UARTLoopback(divisor=6), "uart_loopback_d6", simulator="icarus")
    result = harness.run(build, TESTBENCH, env={"ROPUF_UART_DIVISOR": "6"}, seed=6)
    assert result.tests == 2
