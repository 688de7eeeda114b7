"""The UART loopback demo: bytes through the simulated UART in Verilator, and how fast."""

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ropuf.gateware.link.uart_loopback import UARTLoopback
from ropuf.spec.errors import InputError

from . import harness

__all__ = ["UARTDemoResult", "run_uart_demo"]


@dataclass(frozen=True)
class UARTDemoResult:
    """Figures of one loopback run, all measured inside the simulation process.

    Attributes
    ----------
    n_bytes : int
        Bytes sent and echoed back (all checked against what was sent).
    divisor : int
        Clock cycles per bit.
    cycles : int
        Simulated clock cycles from the first start bit to the last echoed stop bit.
    wall_seconds : float
        Wall time of that stretch.
    build_reused : bool
        Whether the Verilator model came from the build cache.
    build_dir : Path
        Where the model lives.
    """

    n_bytes: int
    divisor: int
    cycles: int
    wall_seconds: float
    build_reused: bool
    build_dir: Path

    @property
    def bytes_per_second(self) -> float:
        """Bytes looped through the simulated UART per wall second."""
        return self.n_bytes / self.wall_seconds

    @property
    def cycles_per_second(self) -> float:
        """Simulated clock cycles per wall second (cocotb driving the pins)."""
        return self.cycles / self.wall_seconds


def run_uart_demo(*, n_bytes: int = 2000, divisor: int = 8, seed: int = 1) -> UARTDemoResult:
    """Send *n_bytes* random bytes through the Verilator UART loopback and time it.

    Raises
    ------
    ToolchainError, HarnessError
        Verilator is missing or the design does not build.
    SimulationError
        An echoed byte differs from the one sent.
    """
    if n_bytes < 4:
        raise InputError(f"The demo needs at least 4 bytes, not {n_bytes!r}")
    build = harness.build(UARTLoopback(divisor=divisor), f"uart_loopback_d{divisor}")
    with tempfile.TemporaryDirectory() as tmp:
        result_file = Path(tmp) / "result.json"
        harness.run(
            build,
            "ropuf.sim.testbenches.uart_loopback",
            testcase="loopback_random_bytes",
            env={
                "ROPUF_UART_DIVISOR": str(divisor),
                "ROPUF_UART_BYTES": str(n_bytes),
                "ROPUF_UART_SEED": str(seed),
                "ROPUF_RESULT": str(result_file),
            },
            seed=seed,
        )
        figures = json.loads(result_file.read_text())
    return UARTDemoResult(
        n_bytes=figures["bytes"],
        divisor=figures["divisor"],
        cycles=figures["cycles"],
        wall_seconds=figures["wall_seconds"],
        build_reused=build.reused,
        build_dir=build.directory,
    )
