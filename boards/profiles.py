"""Board profiles: what ``ropuf build --board NAME`` builds for each board.

A profile names the amaranth-boards platform and keeps only what the platform does not know:
the ring-oscillator array (count, stages, placement region), the arbiter chains, the key code
and the default build variant. The FPGA, the clock and its frequency and the UART pins are read
from the platform. :meth:`BoardProfile.config` gives the device build
(:class:`~ropuf.spec.device_config.DeviceConfig`) of each variant. Both variants of a board use
the same rings on the same BELs, so helper data enrolled on the enrollment build is valid on
the deployment build.

The figures behind each choice (what fits, what meets timing) are in docs/boards.md.
"""

import importlib
from dataclasses import dataclass, replace
from functools import cached_property

from ropuf.gateware.ro.ecp5 import ECP5Ring, ECP5RingPlacement
from ropuf.gateware.ro.ice40 import ICE40Ring, ICE40RingPlacement
from ropuf.spec.arbiter_command import ArbiterConfig
from ropuf.spec.checks import check_int
from ropuf.spec.code_params import CHOSEN, ICE40, CodeParams
from ropuf.spec.device_config import VARIANTS, DeviceConfig

__all__ = ["PROFILES", "VARIANTS", "BoardProfile", "ECP5RingRegion"]


@dataclass(frozen=True)
class ECP5RingRegion(ECP5RingPlacement):
    """An ECP5 ring placement in blocks, stepping over tile rows holding no logic (block RAM and
    DSP rows).

    ``skip_y`` lists those rows. Without ``block`` ring *i* sits in column ``x0 + i % columns``
    and in the ``i // columns``-th logic row from ``y0``. With ``block = (width, height)`` the
    rings fill blocks of ``width`` x ``height`` tiles, each row by row, and the blocks fill bands
    ``columns`` tiles wide (``columns // width`` blocks) from ``x0``, each band ``height`` logic
    rows below the last: a batch of ``width * height`` neighbouring rings then sits in one
    compact block of the die.
    """

    skip_y: tuple[int, ...] = ()
    block: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.block is not None:
            width, height = self.block
            check_int("block width", width, minimum=1)
            check_int("block height", height, minimum=1)
            if self.columns % width:
                raise ValueError(
                    f"Columns must be a multiple of the block width {width!r}, not {self.columns!r}"
                )

    def tile(self, index: int) -> tuple[int, int]:
        if self.block is None:
            column, row = index % self.columns, index // self.columns
        else:
            width, height = self.block
            block, offset = divmod(index, width * height)
            band, slot = divmod(block, self.columns // width)
            column = slot * width + offset % width
            row = band * height + offset // width
        y = self.y0
        while True:
            if y not in self.skip_y:
                if row == 0:
                    break
                row -= 1
            y += 1
        return self.x0 + column, y


def _platform_fact(index: int, doc: str) -> property:
    """A read-only property: the *index*-th of a profile's platform facts, documented *doc*."""
    return property(lambda profile: profile._platform_facts[index], doc=doc)


@dataclass(frozen=True)
class BoardProfile:
    """One board's build parameters.

    Parameters
    ----------
    name : str
        What ``--board`` takes.
    summary : str
        One line for listings.
    platform : str
        The amaranth-boards platform class, ``"module:Class"``.
    family : str
        ``"ice40"`` or ``"ecp5"``.
    n_ro : int
        Ring oscillators.
    placement : ICE40RingPlacement or ECP5RingPlacement
        Where the rings go: one ring per logic tile, every ring the same cells of its tile.
    logic_rows : tuple[int, int]
        First and last tile row with logic cells; the rings must stay within them.
    stages : int
        LUTs per ring.
    gate_cycles : int
        Gate window per measurement, in system clock cycles.
    baud : int
        UART bit rate.
    arbiter_chains, arbiter_stages : int
        Arbiter PUF: chains XORed (0: none) and switch stages per chain.
    code : CodeParams or None
        The key code of the key path; ``None``: no key path on this board.
    compact_key_path : bool
        Build the key path on the compact SHA-256 core and BCH decoder (the iCE40UP5K's).
    identity : bool
        The public-key identity (IDENTITY, SIGN: the P-256 engine) beside the key path.
    offsets : tuple of int, optional
        The design offset of each RO (:attr:`~ropuf.spec.device_config.DeviceConfig.offsets`)
        from a characterisation of this board's design (``ropuf thresholds``; ``ropuf build
        --thresholds FILE`` sets them); None: not characterised, no offsets ROM.
    variant : str
        The variant ``ropuf build`` makes when none is asked for.
    """

    name: str
    summary: str
    platform: str
    family: str
    n_ro: int
    placement: ICE40RingPlacement | ECP5RingPlacement
    logic_rows: tuple[int, int]
    stages: int = 5
    gate_cycles: int = 4096
    baud: int = 115_200
    arbiter_chains: int = 0
    arbiter_stages: int = 64
    code: CodeParams | None = None
    compact_key_path: bool = False
    identity: bool = False
    offsets: tuple[int, ...] | None = None
    variant: str = "enrollment"

    def __post_init__(self) -> None:
        if self.family not in ("ice40", "ecp5"):
            raise ValueError(f"Family must be 'ice40' or 'ecp5', not {self.family!r}")
        if self.variant not in VARIANTS:
            raise ValueError(f"Variant must be one of {VARIANTS!r}, not {self.variant!r}")
        if self.code is not None and self.n_ro < self.code.ros:
            raise ValueError(
                f"{self.name}: the key construction's pairing uses {self.code.ros} ROs, "
                f"not {self.n_ro!r}"
            )
        first, last = self.logic_rows
        rows = {self.placement.tile(i)[1] for i in range(self.n_ro)}
        if min(rows) < first or max(rows) > last:
            raise ValueError(
                f"{self.name}: {self.n_ro} rings need tile rows {min(rows)}..{max(rows)}, "
                f"outside the logic rows {first}..{last}: widen the placement"
            )
        self.ring()  # checks stages against the tile

    @cached_property
    def _platform_facts(self) -> tuple[str, str, int, str, str]:
        platform = self.make_platform()
        clock = platform.default_clk
        uart = {sub.name: sub.ios[0].names for sub in platform.lookup("uart", 0).ios}
        frequency = platform.lookup(clock).clock.frequency
        return platform.device, clock, round(frequency), uart["rx"][0], uart["tx"][0]

    device = _platform_fact(0, "The FPGA (the platform's), for reports and messages.")
    clock = _platform_fact(1, "The platform's default clock resource, which clocks the design.")
    clock_hz = _platform_fact(
        2, "Its frequency in Hz (the platform's); timing is checked against it."
    )
    uart_rx = _platform_fact(3, "Package pin of the platform's UART 0 receive line.")
    uart_tx = _platform_fact(4, "Package pin of the platform's UART 0 transmit line.")

    def config(self, variant: str) -> DeviceConfig:
        """The device build of this board as *variant*.

        Raises
        ------
        ValueError
            *variant* is not ``"enrollment"`` or ``"deployment"``.
        """
        if variant not in VARIANTS:
            raise ValueError(f"Variant must be one of {VARIANTS!r}, not {variant!r}")
        arbiter = None
        if self.arbiter_chains:
            # COUNTS (per-challenge reliability) only in enrollment builds, as raw RO counts.
            arbiter = ArbiterConfig(
                n_stages=self.arbiter_stages,
                k=self.arbiter_chains,
                allow_counts=variant == "enrollment",
            )
        return DeviceConfig(
            variant=variant,
            n_ro=self.n_ro,
            stages=self.stages,
            gate_cycles=self.gate_cycles,
            clock_hz=self.clock_hz,
            code=self.code,
            arbiter=arbiter,
            compact_key_path=self.compact_key_path,
            identity=self.identity,
            offsets=self.offsets,
        )

    @property
    def divisor(self) -> int:
        """Clock cycles per UART bit."""
        return round(self.clock_hz / self.baud)

    def make_platform(self):
        """A fresh instance of the amaranth-boards platform."""
        module, _, cls = self.platform.partition(":")
        return getattr(importlib.import_module(module), cls)()

    def ring(self):
        """The ring body of this board (its ``bels(i)`` are the BELs the build must hit)."""
        if self.family == "ice40":
            return ICE40Ring(stages=self.stages, n_ro=self.n_ro, placement=self.placement)
        return ECP5Ring(stages=self.stages, n_ro=self.n_ro, placement=self.placement)

    def region(self) -> str:
        """The tiles the rings occupy, e.g. ``"X1..17 Y4..11"``."""
        tiles = [self.placement.tile(i) for i in range(self.n_ro)]
        xs = [x for x, _ in tiles]
        ys = [y for _, y in tiles]
        return f"X{min(xs)}..{max(xs)} Y{min(ys)}..{max(ys)}, {len(set(tiles))} tiles"


#: ECP5 tile rows without logic cells (block RAM / DSP rows), from Project Trellis' tile grids
#: (the 12F is the 25F's die).
_ECP5_25F_NON_LOGIC_ROWS = (13, 25, 37)
_ECP5_45F_NON_LOGIC_ROWS = (10, 22, 34, 46, 58)
_ECP5_85F_NON_LOGIC_ROWS = (10, 22, 34, 46, 58, 70, 82)


def _ecp5_rings(x0: int, y0: int, skip_y: tuple[int, ...]) -> ECP5RingRegion:
    """The ECP5 boards' ring region from (x0, y0): a batch of 64 rings (CHOSEN's pairing) per
    block of 8 x 8 tiles, five blocks a band (40 columns); CHOSEN's 832 rings fill three bands
    (5 + 5 + 3 blocks) over 24 logic rows."""
    return ECP5RingRegion(x0=x0, y0=y0, columns=40, skip_y=skip_y, block=(8, 8))


ICEBREAKER = BoardProfile(
    name="icebreaker",
    summary="iCEBreaker (iCE40UP5K-SG48), 12 MHz, 384 ROs, key path (compact cores)",
    platform="amaranth_boards.icebreaker:ICEBreakerPlatform",
    family="ice40",
    # The ICE40 construction's 384 rings (6 batches of 64, each 4 tile rows x 16 columns) in
    # tiles X1..17 (not the RAM column 6), rows 4..27 (docs/boards.md).
    n_ro=384,
    stages=3,
    placement=ICE40RingPlacement(x0=1, y0=4, columns=16, skip_x=(6, 19)),
    logic_rows=(1, 30),
    code=ICE40,
    compact_key_path=True,
)

ULX3S_85F = BoardProfile(
    name="ulx3s-85f",
    summary="ULX3S with ECP5-85F (LFE5U-85F-6BG381), 25 MHz, 832 ROs, key path, identity",
    platform="amaranth_boards.ulx3s:ULX3S_85F_Platform",
    family="ecp5",
    n_ro=CHOSEN.ros,
    # Centred on the die: X44..83, Y35..60 (stepping over the RAM/DSP rows 46 and 58), clear of
    # the arbiter chains (default placement: X20..37, Y38..41).
    placement=_ecp5_rings(x0=44, y0=35, skip_y=_ECP5_85F_NON_LOGIC_ROWS),
    logic_rows=(2, 93),
    arbiter_chains=4,
    arbiter_stages=64,
    code=CHOSEN,
    identity=True,
)

#: The 85F's design on the 45F: the same rings, key path, identity and arbiter; X38..77,
#: Y23..48, right of the arbiter chains.
ULX3S_45F = replace(
    ULX3S_85F,
    name="ulx3s-45f",
    summary="ULX3S with ECP5-45F (LFE5U-45F-6BG381), 25 MHz, 832 ROs, key path, identity",
    platform="amaranth_boards.ulx3s:ULX3S_45F_Platform",
    placement=_ecp5_rings(x0=38, y0=23, skip_y=_ECP5_45F_NON_LOGIC_ROWS),
    logic_rows=(2, 69),
)

#: The 85F's design on the 25F without the identity (not built for it yet): X16..55, Y8..33,
#: above the arbiter chains.
ULX3S_25F = replace(
    ULX3S_85F,
    identity=False,
    name="ulx3s-25f",
    summary="ULX3S with ECP5-25F (LFE5U-25F-6BG381), 25 MHz, 832 ROs, key path",
    platform="amaranth_boards.ulx3s:ULX3S_25F_Platform",
    placement=_ecp5_rings(x0=16, y0=8, skip_y=_ECP5_25F_NON_LOGIC_ROWS),
    logic_rows=(2, 48),
)

#: The 25F's rings on the 12F (the 25F's die, which nextpnr places with all its 24,288 LUTs;
#: Lattice sells it as 12k): the 25F's design takes 14,100 LUTs, so the 12F carries the key path
#: on the compact cores and no arbiter (docs/boards.md).
ULX3S_12F = replace(
    ULX3S_25F,
    name="ulx3s-12f",
    summary="ULX3S with ECP5-12F (LFE5U-12F-6BG381), 25 MHz, 832 ROs, key path (compact cores)",
    platform="amaranth_boards.ulx3s:ULX3S_12F_Platform",
    arbiter_chains=0,
    compact_key_path=True,
)

PROFILES: dict[str, BoardProfile] = {
    p.name: p for p in (ICEBREAKER, ULX3S_85F, ULX3S_45F, ULX3S_25F, ULX3S_12F)
}
