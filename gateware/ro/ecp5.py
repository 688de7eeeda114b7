"""ECP5 ring oscillator: a NAND and inverters in LUT4 cells, one ring per logic tile.

Stage *k* of a ring sits on ``SLICE{A,B,C,D}[k // 2].K{k % 2}`` of its tile, so every ring has
the same shape; ring *i* sits on tile ``(x0 + i % columns, y0 + i // columns)``. The cells carry
``keep``; nextpnr needs ``--ignore-loops``.
"""

from dataclasses import dataclass
from typing import ClassVar

from amaranth.hdl import Const, Instance

from .bank import PlacedRings, nand_lut_init

__all__ = ["ECP5Ring", "ECP5RingPlacement"]

#: LUT4 cells per ECP5 PLC (four slices of two).
CELLS_PER_TILE = 8


@dataclass(frozen=True)
class ECP5RingPlacement:
    """Where the rings go: a grid of PLC tiles from (x0, y0), ``columns`` tiles wide."""

    #: The family's bank measures both rings of a pair in one gate window (see :mod:`.fpga`):
    #: an :class:`~ropuf.gateware.ro.array.ROArray` given this placement runs one window a pair.
    SEQUENTIAL: ClassVar[bool] = False

    x0: int = 20
    y0: int = 20
    columns: int = 16

    def tile(self, index: int) -> tuple[int, int]:
        """(x, y) of ring *index*."""
        return self.x0 + index % self.columns, self.y0 + index // self.columns


class ECP5Ring(PlacedRings):
    """Instantiates placed LUT4 rings (see the module docstring)."""

    FAMILY = "ECP5"
    CELLS_PER_TILE = CELLS_PER_TILE
    CELLS = "LUTs"
    PLACEMENT = ECP5RingPlacement

    def bels(self, index: int) -> list[str]:
        """The BEL of every stage of ring *index*, stage 0 (the NAND) first."""
        x, y = self.placement.tile(index)
        return [f"X{x}/Y{y}/SLICE{'ABCD'[k // 2]}.K{k % 2}" for k in range(self.stages)]

    def lut(self, *, bel, inputs, out):
        padded = [*inputs, Const(0), Const(0), Const(0)]
        return Instance(
            "LUT4",
            a_keep=1,
            a_BEL=bel,
            p_INIT=Const(nand_lut_init(len(inputs)), 16),
            i_A=padded[0],
            i_B=padded[1],
            i_C=padded[2],
            i_D=Const(0),
            o_Z=out,
        )
