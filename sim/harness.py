"""Build an Amaranth component for a simulator once, cache it, and run cocotb testbenches on it.

One call, :func:`build`, turns a component into Verilog with Amaranth's bundled Yosys, then into a
Verilator (or Icarus) model through ``cocotb_tools.runner``. Builds are cached under
:func:`cache_root`, keyed by a hash of the Verilog, the simulator version, the cocotb version and
the Python version: a test session builds each design once, and the next session reuses it.
:func:`run` runs a cocotb test module against a build and raises :class:`SimulationError` when a
test fails.
"""

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog

from .toolchain import Simulator, ToolchainError, find_simulator

__all__ = [
    "HarnessError",
    "SimBuild",
    "SimResult",
    "SimulationError",
    "ToolchainError",
    "build",
    "cache_root",
    "run",
    "to_verilog",
]

logger = logging.getLogger(__name__)

#: The time unit and precision of every build (Amaranth's Verilog carries no timescale).
TIMESCALE = ("1ns", "1ps")

_STAMP = "ropuf-build.ok"

#: Amaranth's Verilog is correct but lint-noisy (width extensions, incomplete case arms that its
#: own defaults cover): such warnings are not errors; real errors still stop the build.
_VERILATOR_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style"]


class HarnessError(RuntimeError):
    """A design could not be converted or built."""


class SimulationError(AssertionError):
    """A cocotb testbench ran and at least one of its tests failed (or the simulator crashed)."""


@dataclass(frozen=True)
class SimBuild:
    """A built simulation model, ready for :func:`run`.

    Attributes
    ----------
    name : str
        The Verilog top-level module name.
    directory : Path
        The build folder (holds ``<name>.v`` and the simulator's model).
    simulator : Simulator
        The simulator it was built for.
    key : str
        The cache key (hex digest) that names the build folder.
    reused : bool
        True when the build came from the cache, False when it was built now.
    """

    name: str
    directory: Path
    simulator: Simulator
    key: str
    reused: bool

    @property
    def verilog(self) -> Path:
        """The Verilog source of the build."""
        return self.directory / f"{self.name}.v"


@dataclass(frozen=True)
class SimResult:
    """What one :func:`run` did: tests run and failed, the results file, wall time."""

    tests: int
    failed: int
    results_xml: Path
    wall_seconds: float


def cache_root() -> Path:
    """Folder of cached builds: ``$ROPUF_CACHE_DIR``, else ``$XDG_CACHE_HOME/ropuf``, else
    ``~/.cache/ropuf``."""
    if env := os.environ.get("ROPUF_CACHE_DIR"):
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ropuf"


@contextlib.contextmanager
def _builtin_yosys() -> Iterator[None]:
    # A YOSYS variable (set for board builds) would switch conversion to the slow WASM Yosys.
    saved = os.environ.get("AMARANTH_USE_YOSYS")
    os.environ["AMARANTH_USE_YOSYS"] = "builtin"
    try:
        yield
    finally:
        if saved is None:
            del os.environ["AMARANTH_USE_YOSYS"]
        else:
            os.environ["AMARANTH_USE_YOSYS"] = saved


def to_verilog(component: object, name: str) -> str:
    """Convert *component* (an Amaranth ``wiring.Component``) to Verilog named *name*.

    Raises
    ------
    HarnessError
        The design does not convert; the message names the design and the cause.
    """
    if not name.isidentifier():
        raise HarnessError(f"top-level name {name!r} is not a valid Verilog identifier")
    try:
        with _builtin_yosys():
            return verilog.convert(component, name=name, emit_src=False)
    except Exception as exc:  # any elaboration error becomes one clear line
        cause = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise HarnessError(
            f"design {name!r} does not convert to Verilog: {type(exc).__name__}: {cause}"
        ) from exc


def _cache_key(source: str, simulator: Simulator, waves: bool) -> str:
    import cocotb

    digest = hashlib.sha256()
    for part in (
        source,
        simulator.name,
        simulator.version,
        cocotb.__version__,
        sys.version,
        sys.prefix,  # the environment whose cocotb libraries the model links
        f"waves={waves}",
        f"timescale={TIMESCALE}",
        f"args={_VERILATOR_ARGS}",
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Two test processes building the same design wait for each other instead of racing.
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _runner(simulator: Simulator):  # -> cocotb_tools.runner.Runner
    from cocotb_tools.runner import get_runner

    simulator.activate()
    # Verilator's makefile runs "python3" with the PYTHONPATH of this interpreter: make sure
    # "python3" is this interpreter, not another one that happens to be first on PATH.
    here = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if not path.startswith(here + os.pathsep):
        os.environ["PATH"] = here + os.pathsep + path
    runner = get_runner(simulator.name)
    # The runner logs every command at INFO; follow this module's level instead.
    runner.log.setLevel(logger.getEffectiveLevel())
    return runner


def build(
    component: object,
    name: str,
    *,
    simulator: str = "verilator",
    waves: bool = False,
) -> SimBuild:
    """Convert *component* to Verilog and build it for *simulator*, reusing a cached build.

    Parameters
    ----------
    component : amaranth.lib.wiring.Component
        The design; its signature becomes the top-level ports (plus ``clk`` and ``rst``).
    name : str
        Top-level module name (also the start of the cache folder's name).
    simulator : str
        ``"verilator"`` (default) or ``"icarus"``.
    waves : bool
        Build with tracing (Verilator) so that runs can record ``dump.vcd``.

    Raises
    ------
    ToolchainError
        The simulator is missing or too old (one line naming what to install).
    HarnessError
        The design does not convert or the simulator fails to build it.
    """
    sim = find_simulator(simulator)
    source = to_verilog(component, name)
    key = _cache_key(source, sim, waves)
    directory = cache_root() / "sim" / sim.name / f"{name}-{key}"
    with _locked(directory.with_suffix(".lock")):
        if (directory / _STAMP).is_file():
            logger.debug("reusing build %s", directory)
            return SimBuild(name, directory, sim, key, reused=True)
        if directory.exists():
            shutil.rmtree(directory)  # a build that stopped half-way
        directory.mkdir(parents=True)
        (directory / f"{name}.v").write_text(source)
        log_file = directory / "build.log"
        started = time.monotonic()
        runner = _runner(sim)
        try:
            runner.build(
                sources=[directory / f"{name}.v"],
                hdl_toplevel=name,
                build_dir=directory,
                timescale=TIMESCALE,
                waves=waves,
                always=True,
                log_file=log_file,
                build_args=_VERILATOR_ARGS if sim.name == "verilator" else [],
            )
        except (RuntimeError, SystemExit) as exc:
            tail = log_file.read_text(errors="replace").strip().splitlines()[-20:]
            errors = [line for line in tail if "Error" in line or "error" in line] or tail[-3:]
            raise HarnessError(
                f"{sim.name} failed to build {name!r} ({exc}); see {log_file}: "
                + " | ".join(errors[:3])
            ) from None
        (directory / _STAMP).write_text(f"{time.monotonic() - started:.1f} s\n")
        logger.info("built %s for %s in %.1f s", name, sim.name, time.monotonic() - started)
        return SimBuild(name, directory, sim, key, reused=False)


def _failures(results_xml: Path) -> tuple[int, list[str]]:
    tests = 0
    failures = []
    for case in ET.parse(results_xml).getroot().iter("testcase"):
        tests += 1
        for problem in list(case.findall("failure")) + list(case.findall("error")):
            message = problem.get("message") or (problem.text or "").strip()
            failures.append(f"{case.get('name')}: {message.strip()[:400]}")
    return tests, failures


def run(
    sim_build: SimBuild,
    test_module: str,
    *,
    env: Mapping[str, str] | None = None,
    testcase: str | None = None,
    seed: int | None = None,
    waves: bool = False,
) -> SimResult:
    """Run the cocotb tests of *test_module* (an importable module name) on *sim_build*.

    Parameters
    ----------
    sim_build : SimBuild
        From :func:`build`.
    test_module : str
        Dotted name of the module holding ``@cocotb.test()`` coroutines.
    env : mapping, optional
        Extra environment variables for the testbench (its parameters).
    testcase : str, optional
        Run only this test of the module.
    seed : int, optional
        cocotb's random seed (the run is repeatable with the same seed).
    waves : bool
        Record ``dump.vcd`` in the run folder (needs a build with ``waves=True`` on Verilator).

    Raises
    ------
    SimulationError
        A test failed, or the simulator stopped without writing results.
    """
    runs = sim_build.directory / "runs"
    runs.mkdir(exist_ok=True)
    test_dir = Path(tempfile.mkdtemp(prefix="run-", dir=runs))
    results_xml = test_dir / "results.xml"
    log_file = test_dir / "sim.log"
    runner = _runner(sim_build.simulator)
    started = time.monotonic()
    try:
        runner.test(
            test_module=test_module,
            hdl_toplevel=sim_build.name,
            hdl_toplevel_lang="verilog",
            build_dir=sim_build.directory,
            test_dir=test_dir,
            results_xml=str(results_xml),
            extra_env=dict(env or {}),
            testcase=testcase,
            seed=seed,
            waves=waves,
            timescale=TIMESCALE,
            log_file=log_file,
        )
    except SystemExit:
        pass  # under pytest the runner exits on failure; the results file says what failed
    except RuntimeError as exc:
        raise SimulationError(f"simulation of {sim_build.name!r} did not run: {exc}") from None
    wall = time.monotonic() - started
    if not results_xml.is_file():
        raise SimulationError(
            f"simulation of {sim_build.name!r} stopped without results (crash?); see {log_file}"
        )
    tests, failures = _failures(results_xml)
    if tests == 0:
        raise SimulationError(f"{test_module!r} ran no test on {sim_build.name!r}")
    if failures:
        raise SimulationError(
            f"{len(failures)} of {tests} tests failed in {test_module!r} (log: {log_file}): "
            + "; ".join(failures)
        )
    if not waves:
        # Keep the last results beside the build for inspection; drop the run folder.
        kept = sim_build.directory / "last-results.xml"
        shutil.copyfile(results_xml, kept)
        shutil.rmtree(test_dir, ignore_errors=True)
        results_xml = kept
    return SimResult(tests, 0, results_xml, wall)
