"""The simulated board: the device gateware in Verilator, its UART on a TCP port.

:func:`serve` runs it in this process until stopped (what ``ropuf sim serve`` does);
:class:`SimulatedBoard` starts one in a child process and gives its ``socket://`` URL, for
tests, benchmarks and fleet runs (several at once, each with its own die).
"""

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ropuf.gateware.uart_loopback import UARTLoopback

from . import harness

__all__ = ["BoardError", "Condition", "SimulatedBoard", "serve"]

#: UART bit period of the simulated board in clock cycles (fast to simulate; a real board at
#: 12 MHz uses 104 for 115,200 baud).
SIM_DIVISOR = 8


class BoardError(RuntimeError):
    """The simulated board did not start or stopped unexpectedly."""


@dataclass(frozen=True)
class Condition:
    """The die and operating point a simulated board stands for."""

    die_seed: int = 0
    temperature: float = 25.0
    voltage: float | None = None
    noise_seed: int = 1


def _design():
    """The device design the simulated board runs, its top name, and its testbench settings.

    Until the device core lands, the board is the UART loopback: it echoes every byte.
    """
    design = UARTLoopback(divisor=SIM_DIVISOR)
    return design, f"uart_loopback_d{SIM_DIVISOR}", {"ROPUF_UART_DIVISOR": str(SIM_DIVISOR)}


def serve(condition: Condition, *, port: int = 0, ready_file: str | None = None) -> None:
    """Build (or reuse) the device model and serve it on *port* until the process stops."""
    if not 0 <= port <= 65535:
        raise ValueError(f"TCP port must be in 0..65535, not {port!r}")
    design, name, env = _design()
    build = harness.build(design, name)
    env = {
        **env,
        "ROPUF_SERVE_PORT": str(port),
        "ROPUF_DIE_SEED": str(condition.die_seed),
        "ROPUF_TEMPERATURE": str(condition.temperature),
        "ROPUF_NOISE_SEED": str(condition.noise_seed),
    }
    if condition.voltage is not None:
        env["ROPUF_VOLTAGE"] = str(condition.voltage)
    if ready_file:
        env["ROPUF_READY_FILE"] = ready_file
    harness.run(build, "ropuf.sim.testbenches.serve", env=env)


class SimulatedBoard:
    """A simulated board in a child process, for as long as the ``with`` block lasts.

    Parameters
    ----------
    condition : Condition
        Die and operating point.
    port : int
        TCP port; 0 picks a free one.
    timeout : float
        Seconds to wait for the board to listen (the first start also builds the model).

    Attributes
    ----------
    url : str
        The pyserial URL, ``socket://127.0.0.1:PORT``, once started.
    """

    def __init__(self, condition: Condition | None = None, *, port: int = 0, timeout: float = 120):
        self.condition = condition or Condition()
        self.port = port
        self.timeout = timeout
        self.url = ""
        self._process: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> "SimulatedBoard":
        self._tmp = tempfile.TemporaryDirectory(prefix="ropuf-board-")
        ready = Path(self._tmp.name) / "ready"
        log = open(Path(self._tmp.name) / "board.log", "wb")  # closed in _stop
        self._log = log
        c = self.condition
        args = [
            sys.executable, "-m", "ropuf.host.cli", "sim", "serve",
            "--die-seed", str(c.die_seed), "--temperature", str(c.temperature),
            "--noise-seed", str(c.noise_seed), "--port", str(self.port),
            "--ready-file", str(ready),
        ]  # fmt: skip
        if c.voltage is not None:
            args += ["--voltage", str(c.voltage)]
        self._process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()
        )
        deadline = time.monotonic() + self.timeout
        while not ready.exists():
            if self._process.poll() is not None:
                self._stop()
                raise BoardError(f"the simulated board exited at start: {self._tail()}")
            if time.monotonic() > deadline:
                self._stop()
                raise BoardError(f"the simulated board did not listen within {self.timeout} s")
            time.sleep(0.05)
        self.url = ready.read_text().strip()
        return self

    def _tail(self) -> str:
        if self._tmp is None:
            return ""
        self._log.flush()
        lines = (Path(self._tmp.name) / "board.log").read_text(errors="replace").splitlines()
        return " | ".join(lines[-5:])

    def _stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __exit__(self, *exc_info) -> None:
        self._stop()
