"""Build an Amaranth component for a simulator once, cache it, and run cocotb testbenches on it.

One call, :func:`build`, turns a component into Verilog with Amaranth's bundled Yosys, then into a
Verilator (or Icarus) model. Builds are cached under :func:`cache_root`, keyed by a hash of the
Verilog, the build options, the simulator version, the cocotb version and the Python version: a
test session builds each design once, and the next session reuses it. :func:`run` runs a cocotb
test module against a build and raises :class:`SimulationError` when a test fails.

Verilator builds are made for speed, with the same results:

- only the top-level ports are visible to the testbench (cocotb's runner passes
  ``--public-flat-rw``, which keeps every signal of the design out of the optimiser: 5 to 10
  times slower models); ``internal_signals=True`` gives a build whose testbenches can reach
  signals inside the design;
- the model and Verilator's runtime are compiled with ``-O2`` (Verilator's default is ``-Os``);
- the main loop (cocotb's ``verilator.cpp``) can toggle a clock itself, which a testbench starts
  with :func:`ropuf.sim.testbenches.clock.start_clock` instead of cocotb's ``Clock`` (whose VPI
  callback per edge costs more than the model's own work per cycle);
- Verilator's runtime objects, which do not depend on the design, are compiled once and reused
  by every build made with the same compiler command (half the compile time of a small design).
"""

import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import verilog

from ropuf.spec.cache import cache_root
from ropuf.spec.errors import RopufError

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

#: Variables of Verilator's makefile: -O2 for the model's per-cycle code and the runtime (both
#: default to -Os, about 1.5 times slower under cocotb); the model's start-up code keeps the
#: compiler's default (-O0), which compiles fastest.
_MAKE_VARS = ["OPT_FAST=-O2", "OPT_GLOBAL=-O2"]

#: Icarus compiles Verilog-2005, not cocotb's default SystemVerilog (``-g2012``; a later ``-g``
#: wins). Yosys starts every combinational ``always @*`` block with a register initialised at its
#: declaration (``reg \$auto...dump_module$1 = 0;``): in Verilog-2005 that initialisation is an
#: event at time 0, so each block runs once; in SystemVerilog it happens before time 0 with no
#: event, and a block whose inputs never change (``ready = ~busy`` after reset) stays X forever.
_ICARUS_ARGS = ["-g2005"]

#: Names the way Verilator builds are made; part of the cache key, so that a change to the recipe
#: below (not only to the options above) rebuilds.
_RECIPE = "cc-exe-vpi-ports-2"


class HarnessError(RopufError):
    """A design could not be converted or built."""


class SimulationError(RopufError, AssertionError):
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

    def handle(self) -> str:
        """A string naming this build, for another process on this machine
        (:func:`from_handle`): it can run the build without converting the design again."""
        return json.dumps([self.name, str(self.directory), self.simulator.name, self.key])


def from_handle(handle: str) -> SimBuild:
    """The build :meth:`SimBuild.handle` names.

    Raises
    ------
    HarnessError
        The handle is malformed, or its build folder is gone or incomplete.
    """
    try:
        name, directory, simulator, key = json.loads(handle)
        directory = Path(directory)
    except (ValueError, TypeError) as exc:
        raise HarnessError(f"not a simulation build handle: {handle!r}") from exc
    if not (directory / _STAMP).is_file():
        raise HarnessError(f"the simulation build in {directory} is gone or incomplete: rebuild")
    return SimBuild(name, directory, find_simulator(simulator), key, reused=True)


@dataclass(frozen=True)
class SimResult:
    """What one :func:`run` did: tests run and failed, the results file, wall time."""

    tests: int
    failed: int
    results_xml: Path
    wall_seconds: float


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


def _cache_key(source: str, simulator: Simulator, waves: bool, internal_signals: bool) -> str:
    import cocotb

    digest = hashlib.sha256()
    options = [f"waves={waves}", f"timescale={TIMESCALE}"]
    if simulator.name == "verilator":
        options += [
            f"args={_VERILATOR_ARGS}",
            f"make={_MAKE_VARS}",
            f"recipe={_RECIPE}",
            f"internal={internal_signals}",
            _compiler_version(simulator),
            hashlib.sha256(_main_source()[0].encode()).hexdigest(),
        ]
    elif simulator.name == "icarus":
        options.append(f"args={_ICARUS_ARGS}")
    for part in (
        source,
        simulator.name,
        simulator.version,
        cocotb.__version__,
        sys.version,
        sys.prefix,  # the environment whose cocotb libraries the model links
        *options,
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


#: cocotb's Verilator main loop, with one addition: a clock the loop toggles itself. cocotb's
#: ``Clock`` toggles through a VPI timer callback and a VPI put per edge, which costs more than
#: the model's own work per cycle; ``ropuf.sim.testbenches.clock.start_clock`` starts this one
#: instead (through ``ctypes``; the executable exports its symbols). The new level is written
#: where cocotb's inertial puts of the same time step are applied, so every signal sees the
#: same values at the same instants as with cocotb's ``Clock``. Each pair is (text of cocotb's
#: ``verilator.cpp``, what replaces it); when one is missing (another cocotb), the build uses
#: cocotb's file unchanged and ``start_clock`` falls back to cocotb's ``Clock``.
_MAIN_PATCHES = (
    (
        '#include "verilated_vpi.h"\n',
        '#include "verilated_vpi.h"\n#include "verilated_syms.h"\n',
    ),
    (
        "static vluint64_t main_time = 0;  // Current simulation time\n",
        """static vluint64_t main_time = 0;  // Current simulation time

// ropuf: a clock toggled by this loop (see ropuf_clock_start), in time steps of the simulation.
static CData *ropuf_clock = nullptr;
static vluint64_t ropuf_clock_half = 0;
static vluint64_t ropuf_clock_next = 0;
static int ropuf_clock_first = -1;  // the level to put first, then -1: toggle

// Start a 50 % clock on top-level port *name*: *first* (0 or 1) now, toggled every *half*
// time steps. Returns 0, or 1 when there is no such one-bit port.
extern "C" int ropuf_clock_start(const char *name, unsigned long long half, int first) {
    const VerilatedScope *scope = Verilated::threadContextp()->scopeFind("TOP");
    VerilatedVar *var = scope ? scope->varFind(name) : nullptr;
    if (!var || var->vltype() != VLVT_UINT8 || half == 0) return 1;
    ropuf_clock = static_cast<CData *>(var->datap());
    ropuf_clock_half = half;
    ropuf_clock_next = main_time;
    ropuf_clock_first = first ? 1 : 0;
    return 0;
}
""",
    ),
    (
        """            do {
                top->eval_step();
                VerilatedVpi::clearEvalNeeded();
                VerilatedVpi::doInertialPuts();
                settle_value_callbacks();
            } while (VerilatedVpi::evalNeeded());
""",
        """            bool clocked;
            do {
                top->eval_step();
                VerilatedVpi::clearEvalNeeded();
                clocked = ropuf_clock && main_time == ropuf_clock_next;
                if (clocked) {  // with the inertial puts of this time step, as cocotb's Clock
                    *ropuf_clock = ropuf_clock_first >= 0 ? ropuf_clock_first : !*ropuf_clock;
                    ropuf_clock_first = -1;
                    ropuf_clock_next = main_time + ropuf_clock_half;
                }
                VerilatedVpi::doInertialPuts();
                settle_value_callbacks();
            } while (VerilatedVpi::evalNeeded() || clocked);
""",
    ),
    (
        "        vluint64_t next_time = std::min(next_time_cocotb, next_time_timing);\n",
        """        vluint64_t next_time = std::min(next_time_cocotb, next_time_timing);
        if (ropuf_clock) next_time = std::min(next_time, ropuf_clock_next);
""",
    ),
)


@functools.cache
def _main_source() -> tuple[str, bool]:
    """The C++ main of Verilator builds, and whether it has the main-loop clock."""
    import cocotb_tools.config

    text = (cocotb_tools.config.share_dir / "lib" / "verilator" / "verilator.cpp").read_text()
    patched = text
    for old, new in _MAIN_PATCHES:
        if patched.count(old) != 1:
            logger.debug("cocotb's verilator.cpp is not the expected one: no main-loop clock")
            return text, False
        patched = patched.replace(old, new)
    return patched, True


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


def _compiler_version(simulator: Simulator) -> str:
    """The C++ compiler Verilator's makefile uses (``CXX`` in ``verilated.mk``) and its version:
    part of the cache keys, so that a compiler upgrade rebuilds."""
    return _compiler_of(simulator.bin_dir, tuple(sorted(simulator.env.items())))


@functools.cache
def _compiler_of(bin_dir: Path, extra_env: tuple[tuple[str, str], ...]) -> str:
    compiler = "g++"
    try:
        root = subprocess.run(
            [str(bin_dir / "verilator"), "--getenv", "VERILATOR_ROOT"],
            capture_output=True, text=True, timeout=60, env={**os.environ, **dict(extra_env)},
        ).stdout.strip()  # fmt: skip
        makefile = Path(root) / "include" / "verilated.mk"
        if match := re.search(r"^CXX\s*=\s*(.+)$", makefile.read_text(), re.MULTILINE):
            compiler = match[1].strip()
        version = subprocess.run(
            [*compiler.split(), "--version"], capture_output=True, text=True, timeout=60
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{compiler}: {exc}"
    return f"{compiler}: {version.splitlines()[0] if version else ''}"


def _jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _top_ports(source: str, name: str) -> list[str] | None:
    """The port names of module *name* in *source* (Yosys writes ``module name(a, b, ...);``)."""
    match = re.search(rf"^module\s+{re.escape(name)}\s*\(([^)]*)\)\s*;", source, re.MULTILINE)
    if match is None:
        return None
    ports = [port.strip() for port in match[1].split(",") if port.strip()]
    return ports if all(port.isidentifier() for port in ports) else None


def _public_ports_file(source: str, name: str, directory: Path) -> Path:
    """A Verilator control file that makes the top-level ports (only) visible to cocotb."""
    ports = _top_ports(source, name)
    if ports is None:  # not the usual header: every signal of the top module, still far fewer
        logger.debug("cannot read the ports of %s; making its whole top module public", name)
        ports = ["*"]
    lines = ["`verilator_config"]
    lines += [f'public_flat_rw -module "{name}" -var "{port}"' for port in ports]
    path = directory / "ports.vlt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _run_logged(command: list[str], log, env: dict[str, str]) -> None:
    log.write(("$ " + " ".join(command) + "\n").encode())
    log.flush()
    try:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    except OSError as exc:
        raise RuntimeError(f"cannot run {command[0]}: {exc}") from None
    if result.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} exited with status {result.returncode}")


def _runtime_objects(directory: Path) -> list[str]:
    """Verilator's runtime objects the generated makefile links (``VM_GLOBAL_FAST/SLOW``)."""
    text = (directory / "Vtop_classes.mk").read_text()
    objects = []
    for block in re.finditer(r"^VM_GLOBAL_(?:FAST|SLOW) \+= \\\n((?:  \S+ \\\n)*)", text, re.M):
        objects += [f"{line.split()[0]}.o" for line in block[1].splitlines()]
    return objects


def _runtime_cache(make: list[str], directory: Path, env, sim: Simulator) -> dict[str, Path]:
    """Where each runtime object of this build is kept, keyed by its exact compile command."""
    places = {}
    for obj in _runtime_objects(directory):
        dry = subprocess.run(
            [*make, "--no-print-directory", "-n", obj],
            capture_output=True,
            text=True,
            env=env,
            cwd=directory,
        )
        if dry.returncode != 0 or not dry.stdout.strip():
            continue
        digest = hashlib.sha256()
        for part in (dry.stdout, sim.version, _compiler_version(sim)):
            digest.update(part.encode())
            digest.update(b"\0")
        key = digest.hexdigest()[:16]
        places[obj] = cache_root() / "sim" / "verilator-runtime" / f"{obj[:-2]}-{key}.o"
    return places


def _build_verilator(
    sim: Simulator,
    source: str,
    name: str,
    directory: Path,
    waves: bool,
    internal_signals: bool,
    log_file: Path,
) -> None:
    """Verilate and compile *name* for cocotb, as cocotb's runner does, made for speed.

    The commands are the runner's (``verilator -cc --exe --vpi`` with cocotb's ``verilator.cpp``
    main, then Verilator's makefile) except for four things: only the top-level ports are public
    (a control file) unless *internal_signals*; ``_MAKE_VARS``; the main has the main-loop clock
    (``_MAIN_PATCHES``); and Verilator's runtime objects are taken from, and put into, a cache
    shared by all builds.
    """
    import cocotb_tools.config

    libs = cocotb_tools.config.libs_dir
    main = directory / "ropuf_verilator_main.cpp"
    main.write_text(_main_source()[0])
    verilate = [
        str(sim.bin_dir / "verilator"), "-cc", "--exe", "-Mdir", str(directory),
        "--top-module", name, "--vpi", "--prefix", "Vtop", "-o", name,
        "-LDFLAGS", f"-Wl,-rpath,{libs} -L{libs} -lcocotbvpi_verilator",
        *(["--trace"] if waves else []),
        *_VERILATOR_ARGS,
        "--timescale", "/".join(TIMESCALE),
    ]  # fmt: skip
    if internal_signals:
        verilate += ["--public-flat-rw", str(main), str(directory / f"{name}.v")]
    else:
        ports = _public_ports_file(source, name, directory)
        verilate += [str(main), str(ports), str(directory / f"{name}.v")]
    make = ["make", "-C", str(directory), "-f", "Vtop.mk", f"VM_TRACE={int(waves)}", *_MAKE_VARS]
    env = dict(os.environ)
    with open(log_file, "ab") as log:
        _run_logged(verilate, log, env)
        cached = _runtime_cache(make, directory, env, sim)
        for obj, keep in cached.items():
            if keep.is_file():
                shutil.copyfile(keep, directory / obj)  # newer than the makefile: not rebuilt
                log.write(f"reused {keep}\n".encode())
        _run_logged([*make[:1], "-j", str(_jobs()), *make[1:]], log, env)
    for obj, keep in cached.items():
        if not keep.is_file() and (directory / obj).is_file():
            keep.parent.mkdir(parents=True, exist_ok=True)
            partial = keep.with_name(f"{keep.name}.{os.getpid()}.tmp")
            shutil.copyfile(directory / obj, partial)
            os.replace(partial, keep)  # atomic: parallel builds never see half a file


def build(
    component: object,
    name: str,
    *,
    simulator: str = "verilator",
    waves: bool = False,
    internal_signals: bool = False,
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
    internal_signals : bool
        Verilator: let testbenches reach every signal of the design, not only its top-level
        ports (``--public-flat-rw``; a several times slower model). A waves build records every
        signal either way.

    Raises
    ------
    ToolchainError
        The simulator is missing or too old (one line naming what to install).
    HarnessError
        The design does not convert or the simulator fails to build it.
    """
    sim = find_simulator(simulator)
    source = to_verilog(component, name)
    key = _cache_key(source, sim, waves, internal_signals)
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
            if sim.name == "verilator":
                _build_verilator(sim, source, name, directory, waves, internal_signals, log_file)
            else:
                runner.build(
                    sources=[directory / f"{name}.v"],
                    hdl_toplevel=name,
                    build_args=_ICARUS_ARGS,
                    build_dir=directory,
                    timescale=TIMESCALE,
                    waves=waves,
                    always=True,
                    log_file=log_file,
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
