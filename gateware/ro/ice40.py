"""iCE40 ring oscillator: a NAND and inverters in SB_LUT4 cells, one ring per logic tile.

Every ring has the same shape: its stages sit on logic cells ``lc0 .. lc(stages - 1)`` of one
PLB, and ring *i* sits on tile ``(x0 + i % columns, y0 + i // columns)``, skipping columns that
hold no logic (block RAM and DSP columns). The cells carry ``keep`` so that Yosys does not
break the loop; nextpnr needs ``--ignore-loops``.
"""

from dataclasses import dataclass
from typing import ClassVar

from amaranth.hdl import Const, Instance

from .bank import PlacedRings, nand_lut_init

__all__ = ["ICE40Ring", "ICE40RingPlacement"]

#: Logic cells per iCE40 PLB.
CELLS_PER_TILE = 8


@dataclass(frozen=True)
class ICE40RingPlacement:
    """Where the rings go: a grid of logic tiles from (x0, y0), ``columns`` tiles wide.

    ``skip_x`` lists tile columns without logic cells (iCE40UP5K: the RAM columns 6 and 19).
    """

    #: The family's bank measures one ring per gate window (see :mod:`.fpga`): an
    #: :class:`~ropuf.gateware.ro.array.ROArray` given this placement runs two windows per pair.
    SEQUENTIAL: ClassVar[bool] = True

    x0: int = 1
    y0: int = 4
    columns: int = 16
    skip_x: tuple[int, ...] = (6, 19)

    def tile(self, index: int) -> tuple[int, int]:
        """(x, y) of ring *index*."""
        xs = []
        x = self.x0
        while len(xs) < self.columns:
            if x not in self.skip_x:
                xs.append(x)
            x += 1
        return xs[index % self.columns], self.y0 + index // self.columns


class ICE40Ring(PlacedRings):
    """Instantiates placed SB_LUT4 rings (see the module docstring)."""

    FAMILY = "iCE40"
    CELLS_PER_TILE = CELLS_PER_TILE
    CELLS = "cells"
    PLACEMENT = ICE40RingPlacement

    def bels(self, index: int) -> list[str]:
        """The BEL of every stage of ring *index*, stage 0 (the NAND) first."""
        x, y = self.placement.tile(index)
        return [f"X{x}/Y{y}/lc{stage}" for stage in range(self.stages)]

    def lut(self, *, bel, inputs, out):
        padded = [*inputs, Const(0), Const(0), Const(0)]
        return Instance(
            "SB_LUT4",
            a_keep=1,
            a_BEL=bel,
            p_LUT_INIT=Const(nand_lut_init(len(inputs)), 16),
            i_I0=padded[0],
            i_I1=padded[1],
            i_I2=padded[2],
            i_I3=Const(0),
            o_O=out,
        )
