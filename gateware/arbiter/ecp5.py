"""ECP5 arbiter chains: switch stages in LUT4 pairs, a launch and an arbiter TRELLIS_FF, placed.

Chain *l* runs along one row of PLC tiles (ECP5 puts its RAM and DSP blocks in rows, so a row
of logic tiles has no gaps), row ``y0 + l``, from column ``x0``:

* tile ``(x0, y)``, ``SLICEA.FF0``: the launch flip-flop (system clock), driving both paths;
* stage *s* in tile ``(x0 + 1 + s // 4, y)``, slice ``"ABCD"[s % 4]``: the top path's 2:1
  multiplexer on LUT ``K0``, the bottom path's on ``K1`` of the same slice, so every stage of
  both paths has the same shape;
* the arbiter flip-flop on ``SLICEA.FF0`` of the tile after the last stage: its data is the
  top path, its clock the bottom path, so it answers 1 when the top edge came first. The data
  enters through the slice's ``M`` input: nextpnr routes a flip-flop's ``DI`` only from the LUT
  beside it.

A flip-flop clocked by a path stays on fabric routing here: nextpnr-ecp5 promotes only nets
with at least five clock loads to the global network (its ``globals.cc``); the build test checks
that no global buffer sits in a path. The race (challenge and launch through the stages to the
arbiter's data and clock) ends on a clock pin, so nextpnr does not time it as a system-clock
path; the arbiter's output is static when the sequencer reads it.

Both multiplexers of a stage have the same truth table, ``Z = C ? B : A`` with the stage's own
path on A, the other on B and the challenge bit on C. Every cell carries ``keep``. Placement is
fixed; routing is nextpnr's, so the two paths are symmetric in cells, not necessarily in wires,
and the flip-flop's set-up and hold times are not symmetric at all: both show as bias, which
the board bring-up must measure.
"""

from dataclasses import dataclass

from amaranth.hdl import ClockSignal, Const, Instance, Module, Signal

from .body import PlacedArbiterBody, race_paths

__all__ = ["LUT_MUX", "ECP5ArbiterBody", "ECP5ArbiterPlacement"]

#: LUT4 truth table of a 2:1 multiplexer, Z = C ? B : A (Z = INIT[{D, C, B, A}]).
LUT_MUX = 0xCACA
#: Switch stages per PLC tile (one slice of two LUTs each).
STAGES_PER_TILE = 4

_FF_PARAMS = {
    "p_GSR": "DISABLED",
    "p_CEMUX": "1",
    "p_CLKMUX": "CLK",
    "p_LSRMUX": "LSR",
    "p_REGSET": "RESET",
    "p_SRMODE": "LSR_OVER_CE",
}


@dataclass(frozen=True)
class ECP5ArbiterPlacement:
    """Where the chains go: chain *l* in row ``y0 + l``, from column ``x0``.

    The default rows lie below the RO array's default placement (rows 20..35, columns 20..35);
    ``x_max`` is the last PLC column used.
    """

    x0: int = 20
    y0: int = 38
    x_max: int = 120

    def row(self, chain: int) -> int:
        """The tile row of chain *chain*."""
        return self.y0 + chain

    def columns(self, n_stages: int) -> int:
        """Tile columns of one chain: launch, stages, arbiter.

        Raises
        ------
        ValueError
            The chain runs past ``x_max``.
        """
        columns = 2 + -(-n_stages // STAGES_PER_TILE)
        if self.x0 + columns - 1 > self.x_max:
            raise ValueError(
                f"An ECP5 chain of {n_stages!r} stages needs {columns} tile columns from "
                f"x0={self.x0!r}, past x_max={self.x_max!r}"
            )
        return columns


class ECP5ArbiterBody(PlacedArbiterBody):
    """k placed arbiter chains on ECP5 (see the module docstring).

    Parameters
    ----------
    n_stages, k : int
        Stages per chain, number of chains.
    placement : ECP5ArbiterPlacement, optional
        Where the chains go.

    Attributes
    ----------
    puf : In(ArbiterBodySignature)
        ``launch`` passes the launch flip-flop (one cycle), then the race takes the path delay
        (well under a nanosecond per stage); ``chains`` comes straight from the arbiter
        flip-flops, static once the race is over, and is read by the sequencer
        ``settle_cycles`` after the launch.

    Raises
    ------
    TypeError, ValueError
        The placement is not an :class:`ECP5ArbiterPlacement`, or the chains do not fit it.
    """

    PLACEMENT = ECP5ArbiterPlacement

    def _check_fit(self, placement, *, n_stages: int, k: int) -> None:
        placement.columns(n_stages)

    def bels(self, chain: int) -> dict[str, str]:
        """The BEL of every cell of chain *chain*: ``launch``, ``s{stage}_top``,
        ``s{stage}_bot`` and ``arbiter``."""
        y = self._placement.row(chain)
        x0 = self._placement.x0
        bels = {"launch": f"X{x0}/Y{y}/SLICEA.FF0"}
        for stage in range(self._n_stages):
            x = x0 + 1 + stage // STAGES_PER_TILE
            slice_ = "ABCD"[stage % STAGES_PER_TILE]
            bels[f"s{stage}_top"] = f"X{x}/Y{y}/SLICE{slice_}.K0"
            bels[f"s{stage}_bot"] = f"X{x}/Y{y}/SLICE{slice_}.K1"
        x_arbiter = x0 + self._placement.columns(self._n_stages) - 1
        bels["arbiter"] = f"X{x_arbiter}/Y{y}/SLICEA.FF0"
        return bels

    def elaborate(self, platform):
        m = Module()
        for chain in range(self._k):
            bels = self.bels(chain)
            prefix = f"arb{chain}"
            start = Signal(name=f"{prefix}_net_start")
            m.submodules[f"{prefix}_launch"] = Instance(
                "TRELLIS_FF",
                a_keep=1,
                a_BEL=bels["launch"],
                i_CLK=ClockSignal("sync"),
                i_LSR=Const(0),
                i_CE=Const(1),
                i_DI=self.puf.launch,
                o_Q=start,
                **_FF_PARAMS,
            )

            def stage(name, own, other, select, out, bels=bels):
                return Instance(
                    "LUT4",
                    a_keep=1,
                    a_BEL=bels[name],
                    p_INIT=Const(LUT_MUX, 16),
                    i_A=own,
                    i_B=other,
                    i_C=select,
                    i_D=Const(0),
                    o_Z=out,
                )

            top, bottom = race_paths(m, prefix, start, self.puf.challenge, self._n_stages, stage)
            m.submodules[f"{prefix}_arbiter"] = Instance(
                "TRELLIS_FF",
                a_keep=1,
                a_BEL=bels["arbiter"],
                i_CLK=bottom,
                i_LSR=Const(0),
                i_CE=Const(1),
                i_M=top,
                o_Q=self.puf.chains[chain],
                **_FF_PARAMS,
            )
        return m
