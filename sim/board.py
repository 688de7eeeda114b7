"""The simulated board: the device gateware in Verilator, its UART on a TCP port.

:func:`serve` runs it in this process until stopped (what ``ropuf sim serve`` does);
:class:`SimulatedBoard` starts one in a child process and gives its ``socket://`` URL, for
tests, benchmarks and fleet runs (several at once, each with its own die).
"""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ropuf.gateware.core.device_top import DeviceTop
from ropuf.spec.arbiter_command import ArbiterConfig
from ropuf.spec.code_params import CHOSEN, ICE40
from ropuf.spec.device_config import DeviceConfig
from ropuf.spec.errors import InputError, RopufError

from . import harness
from .arbiter_device import ArbiterDevice
from .arbiter_model import ArbiterDie
from .design_thresholds import with_simulated_offsets
from .device_model import DeviceModel
from .ro_measure import SIM_CLOCK_HZ, sim_load
from .silicon import Die

__all__ = [
    "SIM_BOARDS",
    "SIM_DEVICE",
    "SIM_ICEBREAKER",
    "Condition",
    "SimulatedBoard",
    "SimulatedBoardError",
    "device_model",
    "serve",
]

#: UART bit period of the simulated board in clock cycles (fast to simulate; a real board at
#: 12 MHz uses 104 for 115,200 baud).
SIM_DIVISOR = 8


#: The simulated ECP5 board's build: 1,536 ROs (the chosen key construction uses the first
#: 832), a gate window of 1,024 cycles at 12 MHz (counts near
#: 17,000, noise of a few counts), the key engine with :data:`~ropuf.spec.code_params.CHOSEN`,
#: a 4-XOR 64-stage arbiter PUF (COUNTS allowed until LOCK, as in any enrollment build) and the
#: public-key identity (IDENTITY, SIGN; :mod:`ropuf.spec.identity`); the design offsets a
#: characterisation of the silicon model gives (sim/design_thresholds.py).
SIM_DEVICE = with_simulated_offsets(
    DeviceConfig(
        variant="enrollment",
        n_ro=1536,
        stages=5,
        gate_cycles=1024,
        max_edges_per_cycle=32.0,
        soft_width=16,
        clock_hz=12_000_000,
        code=CHOSEN,
        arbiter=ArbiterConfig(n_stages=64, k=4, allow_counts=True),
        identity=True,
    )
)
#: The simulated iCEBreaker's build: the iCEBreaker profile's 384 ROs, key construction
#: (:data:`~ropuf.spec.code_params.ICE40`: rank pairs, BCH(192,136,t=7)) and compact key path,
#: the same gate as the ECP5 board, no arbiter (the UP5K has no room for one).
SIM_ICEBREAKER = with_simulated_offsets(
    DeviceConfig(
        variant="enrollment",
        n_ro=384,
        stages=3,
        gate_cycles=1024,
        max_edges_per_cycle=32.0,
        soft_width=16,
        clock_hz=12_000_000,
        code=ICE40,
        compact_key_path=True,
    )
)

#: What ``ropuf sim serve --board NAME`` serves: the ECP5 board (the default) or the iCEBreaker.
SIM_BOARDS: dict[str, DeviceConfig] = {"ulx3s": SIM_DEVICE, "icebreaker": SIM_ICEBREAKER}
#: The board a simulated board is unless told.
DEFAULT_BOARD = "ulx3s"


def sim_config(board: str) -> DeviceConfig:
    """The build the simulated *board* runs.

    Raises
    ------
    InputError
        An unknown board name; the message lists the known ones.
    """
    try:
        return SIM_BOARDS[board]
    except (KeyError, TypeError):
        raise InputError(
            f"no simulated board {board!r}; choose one of {', '.join(SIM_BOARDS)}"
        ) from None


#: Environment variable through which a SimulatedBoard hands its child the built model.
BUILD_HANDLE_ENV = "ROPUF_SIM_BUILD"


class SimulatedBoardError(RopufError):
    """The simulated board did not start or stopped unexpectedly."""


@dataclass(frozen=True)
class Condition:
    """The die and operating point a simulated board stands for."""

    die_seed: int = 0
    temperature: float = 25.0
    voltage: float | None = None
    noise_seed: int = 1
    #: Which simulated board (a key of :data:`SIM_BOARDS`).
    board: str = DEFAULT_BOARD

    @property
    def config(self) -> DeviceConfig:
        """The build of this condition's board."""
        return sim_config(self.board)


def device_model(condition: "Condition", params: DeviceConfig | None = None) -> DeviceModel:
    """The Python model of the simulated board for *condition*: same die, noise and answers
    (*params*: its board's build unless given)."""
    params = condition.config if params is None else params
    load = sim_load(
        Die(condition.die_seed, n_ro=params.n_ro),
        condition.temperature,
        condition.voltage,
        clock_hz=SIM_CLOCK_HZ,
        gate_cycles=params.gate_cycles,
    )
    arbiter = None
    if params.arbiter is not None:
        arbiter = ArbiterDevice.for_die(
            ArbiterDie(condition.die_seed, params.arbiter.n_stages, params.arbiter.k),
            allow_counts=params.arbiter.allow_counts,
            temperature=condition.temperature,
            voltage=condition.voltage,
            seed=condition.noise_seed,
        )
    return DeviceModel(
        params,
        load.rates,
        seed=condition.noise_seed,
        noise_scale=load.noise_scale,
        common_scale=load.common_scale,
        arbiter=arbiter,
    )


def _design(params: DeviceConfig = SIM_DEVICE):
    """The device design the simulated board runs, its top name, and its testbench settings."""
    design = DeviceTop(params, divisor=SIM_DIVISOR, simulation=True)
    key = "" if params.code is None else f"_bch{params.code.n}t{params.code.t}"
    arb = "" if params.arbiter is None else f"_arb{params.arbiter.n_stages}x{params.arbiter.k}"
    name = f"ropuf_{params.variant}_{params.n_ro}_g{params.gate_cycles}{key}{arb}"
    env = {
        "ROPUF_UART_DIVISOR": str(SIM_DIVISOR),
        "ROPUF_RO_N": str(params.n_ro),
        "ROPUF_RO_GATE": str(params.gate_cycles),
    }
    if params.arbiter is not None:
        env["ROPUF_ARBITER_STAGES"] = str(params.arbiter.n_stages)
        env["ROPUF_ARBITER_K"] = str(params.arbiter.k)
    return design, name, env


def serve(condition: Condition, *, port: int = 0, ready_file: str | None = None) -> None:
    """Build (or reuse) the device model and serve it on *port* until the process stops."""
    if not 0 <= port <= 65535:
        raise InputError(f"TCP port must be in 0..65535, not {port!r}")
    design, name, env = _design(condition.config)
    # A SimulatedBoard parent has built (or found) the model already and names it here, so
    # the design is not converted to Verilog a second time.
    handle = os.environ.get(BUILD_HANDLE_ENV)
    build = harness.from_handle(handle) if handle else harness.build(design, name)
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
        Seconds to wait for the board to listen once its model is built.

    Attributes
    ----------
    url : str
        The pyserial URL, ``socket://127.0.0.1:PORT``, once started.
    """

    def __init__(self, condition: Condition | None = None, *, port: int = 0, timeout: float = 60):
        self.condition = condition or Condition()
        self.port = port
        self.timeout = timeout
        self.url = ""
        self._process: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> "SimulatedBoard":
        # Build (or find) the model here, so the child starts at once and the timeout only
        # covers starting up; a cold build of the device top takes about half a minute.
        design, name, _ = _design(self.condition.config)
        build = harness.build(design, name)
        self._tmp = tempfile.TemporaryDirectory(prefix="ropuf-board-")
        ready = Path(self._tmp.name) / "ready"
        log = open(Path(self._tmp.name) / "board.log", "wb")  # closed in _stop
        self._log = log
        c = self.condition
        args = [
            sys.executable, "-m", "ropuf.cli.main", "sim", "serve",
            "--die-seed", str(c.die_seed), "--temperature", str(c.temperature),
            "--noise-seed", str(c.noise_seed), "--port", str(self.port),
            "--ready-file", str(ready), "--board", c.board,
        ]  # fmt: skip
        if c.voltage is not None:
            args += ["--voltage", str(c.voltage)]
        # A session of its own, so stopping it stops the simulator process it starts too.
        self._process = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, BUILD_HANDLE_ENV: build.handle()},
            start_new_session=True,
        )
        deadline = time.monotonic() + self.timeout
        while not ready.exists():
            if self._process.poll() is not None:
                tail = self._tail()  # before stopping, which removes the log
                self._stop()
                raise SimulatedBoardError(f"the simulated board exited at start: {tail}")
            if time.monotonic() > deadline:
                tail = self._tail()
                self._stop()
                raise SimulatedBoardError(
                    f"the simulated board did not listen within {self.timeout} s: {tail}"
                )
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
        if self._process is not None:
            for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, None)):
                try:
                    os.killpg(self._process.pid, sig)
                except ProcessLookupError:
                    break  # the whole group is gone
                try:
                    self._process.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    continue
                if sig == signal.SIGTERM:
                    # The leader is gone; make sure no simulator of its group lingers.
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self._process.pid, signal.SIGKILL)
                break
        self._log.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __exit__(self, *exc_info) -> None:
        self._stop()
