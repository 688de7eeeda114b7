"""iCE40 arbiter chains: switch stages in SB_LUT4 pairs, an SR-latch arbiter, placed.

Chain *l* runs up one column of logic tiles (columns from ``x0``, skipping the RAM columns):

* tile ``(x, y0)``, ``lc0``: the launch flip-flop (SB_DFF, system clock), driving both paths;
* stage *s* in tile ``(x, y0 + 1 + s // 4)``: the top path's 2:1 multiplexer on
  ``lc{2 (s % 4)}``, the bottom path's on ``lc{2 (s % 4) + 1}``, the two cells of one pair
  side by side in the same tile, so every stage of both paths has the same shape;
* the arbiter in the tile after the last stage: an SR latch of two cross-coupled NANDs,
  ``q_top = NAND(top, q_bot)`` on ``lc0`` and ``q_bot = NAND(bottom, q_top)`` on ``lc1``,
  each sampled by an SB_DFF beside it (``lc2``, ``lc3``) so both latch nodes carry the same
  load. With both paths low both nodes are 1; the first rising edge pulls its own node low and
  locks the other high, so ``q_bot`` is 1 exactly when the top edge came first.

Why a latch and not a flip-flop clocked by one path: nextpnr-ice40 promotes every net that
drives a flip-flop clock onto a global buffer while any is free (``promote_globals`` in its
``pack.cc``, no opt-out per net), which would add the global network's nanoseconds to one path
against picosecond stage differences and fix every response. The latch has no clock, is
symmetric by construction, and is a loop: nextpnr needs ``--ignore-loops``, which
:func:`ropuf.boards.yowasp.build` passes.

Why the samplers have a clock net of their own (the system clock inverted in one LUT, on a
global buffer): the race, from the challenge register and the launch flip-flop through every
stage and the latch to the samplers, takes several cycles by design (``settle_cycles``), but
nextpnr has no multicycle constraint and would time it as one cycle of the system clock. A
64-stage chain then "fails" at about 5 MHz and nextpnr stops the build. On a clock net of
their own the samplers make the race a path between two clocks, which nextpnr does not fail;
sampling on the falling edge gives the sequencer half a cycle to read them.

Both multiplexers of a stage have the same truth table, ``O = I2 ? I1 : I0`` with the stage's
own path on I0, the other path on I1 and the challenge bit on I2: straight when the bit is 0,
crossed when it is 1. Every cell carries ``keep``. Placement is fixed; routing is nextpnr's, so
the two paths are symmetric in cells, not necessarily in wires (the residual shows as bias).
"""

from dataclasses import dataclass

from amaranth.hdl import ClockSignal, Const, Instance, Module, Signal

from .body import PlacedArbiterBody, race_paths

__all__ = ["LUT_MUX", "LUT_NAND", "ICE40ArbiterBody", "ICE40ArbiterPlacement"]

#: SB_LUT4 truth table of a 2:1 multiplexer, O = I2 ? I1 : I0 (O = LUT_INIT[{I3, I2, I1, I0}]).
LUT_MUX = 0xCACA
#: SB_LUT4 truth table of a NAND of I0 and I1.
LUT_NAND = 0x7777
#: SB_LUT4 truth table of NOT I0.
LUT_NOT = 0x5555
#: Switch stages per logic tile (two cells each).
STAGES_PER_TILE = 4


@dataclass(frozen=True)
class ICE40ArbiterPlacement:
    """Where the chains go: one column of tiles per chain, columns from ``x0``.

    The default columns (18 and 20..24 on the iCE40UP5K) and rows (from 4) stay clear of the RO
    array's default placement (columns 1..17); ``skip_x`` lists columns without logic cells
    (the UP5K's RAM columns), ``x_max`` and ``y_max`` the last logic column and row.
    """

    x0: int = 18
    y0: int = 4
    skip_x: tuple[int, ...] = (6, 19)
    x_max: int = 24
    y_max: int = 30

    def columns(self, k: int) -> list[int]:
        """The tile column of each of *k* chains.

        Raises
        ------
        ValueError
            Fewer than *k* logic columns from ``x0`` to ``x_max``.
        """
        xs = [x for x in range(self.x0, self.x_max + 1) if x not in self.skip_x]
        if len(xs) < k:
            raise ValueError(
                f"{k!r} chains need {k} logic columns, but only {len(xs)} lie between "
                f"x0={self.x0!r} and x_max={self.x_max!r}: move x0"
            )
        return xs[:k]

    def rows(self, n_stages: int) -> int:
        """Tile rows of one chain: launch, stages, arbiter.

        Raises
        ------
        ValueError
            The chain runs past ``y_max``.
        """
        rows = 2 + -(-n_stages // STAGES_PER_TILE)
        if self.y0 + rows - 1 > self.y_max:
            raise ValueError(
                f"An iCE40 chain of {n_stages!r} stages needs {rows} tile rows from "
                f"y0={self.y0!r}, past y_max={self.y_max!r}"
            )
        return rows


class ICE40ArbiterBody(PlacedArbiterBody):
    """k placed arbiter chains on iCE40 (see the module docstring).

    Parameters
    ----------
    n_stages, k : int
        Stages per chain, number of chains.
    placement : ICE40ArbiterPlacement, optional
        Where the chains go.

    Attributes
    ----------
    puf : In(ArbiterBodySignature)
        ``launch`` passes the launch flip-flop (one cycle), then the race takes the path delay
        (about a nanosecond and a half per stage), then the samplers take one more cycle:
        ``settle_cycles`` must cover ``2`` cycles plus the race (4 at 12 MHz for 64 stages).

    Raises
    ------
    ValueError
        The chains do not fit the placement region.
    """

    PLACEMENT = ICE40ArbiterPlacement

    def _check_fit(self, placement, *, n_stages: int, k: int) -> None:
        placement.columns(k)
        placement.rows(n_stages)

    def bels(self, chain: int) -> dict[str, str]:
        """The BEL of every cell of chain *chain*: ``launch``, ``s{stage}_top``,
        ``s{stage}_bot``, the latch ``latch_top``, ``latch_bot`` and its samplers
        ``sample_top``, ``sample_bot``."""
        x = self._placement.columns(self._k)[chain]
        y0 = self._placement.y0
        bels = {"launch": f"X{x}/Y{y0}/lc0"}
        for stage in range(self._n_stages):
            y = y0 + 1 + stage // STAGES_PER_TILE
            cell = 2 * (stage % STAGES_PER_TILE)
            bels[f"s{stage}_top"] = f"X{x}/Y{y}/lc{cell}"
            bels[f"s{stage}_bot"] = f"X{x}/Y{y}/lc{cell + 1}"
        y = y0 + self._placement.rows(self._n_stages) - 1
        bels["latch_top"] = f"X{x}/Y{y}/lc0"
        bels["latch_bot"] = f"X{x}/Y{y}/lc1"
        bels["sample_top"] = f"X{x}/Y{y}/lc2"
        bels["sample_bot"] = f"X{x}/Y{y}/lc3"
        return bels

    def elaborate(self, platform):
        m = Module()
        # The samplers run on the falling edge of the system clock, through a clock net of their
        # own (see the module docstring).
        sample_clock = Signal(name="arb_sample_clk")
        m.submodules.arb_sample_clk = Instance(
            "SB_LUT4",
            a_keep=1,
            p_LUT_INIT=Const(LUT_NOT, 16),
            i_I0=ClockSignal("sync"),
            i_I1=Const(0),
            i_I2=Const(0),
            i_I3=Const(0),
            o_O=sample_clock,
        )
        for chain in range(self._k):
            bels = self.bels(chain)
            prefix = f"arb{chain}"
            start = Signal(name=f"{prefix}_net_start")
            m.submodules[f"{prefix}_launch"] = Instance(
                "SB_DFF",
                a_keep=1,
                a_BEL=bels["launch"],
                i_C=ClockSignal("sync"),
                i_D=self.puf.launch,
                o_Q=start,
            )

            def stage(name, own, other, select, out, bels=bels):
                return Instance(
                    "SB_LUT4",
                    a_keep=1,
                    a_BEL=bels[name],
                    p_LUT_INIT=Const(LUT_MUX, 16),
                    i_I0=own,
                    i_I1=other,
                    i_I2=select,
                    i_I3=Const(0),
                    o_O=out,
                )

            top, bottom = race_paths(m, prefix, start, self.puf.challenge, self._n_stages, stage)
            # The SR latch: each node is the NAND of its path and the other node.
            q_top = Signal(name=f"{prefix}_net_q_top")
            q_bot = Signal(name=f"{prefix}_net_q_bot")
            for side, path, node, other in (
                ("top", top, q_top, q_bot),
                ("bot", bottom, q_bot, q_top),
            ):
                m.submodules[f"{prefix}_latch_{side}"] = Instance(
                    "SB_LUT4",
                    a_keep=1,
                    a_BEL=bels[f"latch_{side}"],
                    p_LUT_INIT=Const(LUT_NAND, 16),
                    i_I0=path,
                    i_I1=other,
                    i_I2=Const(0),
                    i_I3=Const(0),
                    o_O=node,
                )
            sampled = {}
            for side, node in (("top", q_top), ("bot", q_bot)):
                sampled[side] = Signal(name=f"{prefix}_net_sampled_{side}")
                m.submodules[f"{prefix}_sample_{side}"] = Instance(
                    "SB_DFF",
                    a_keep=1,
                    a_BEL=bels[f"sample_{side}"],
                    i_C=sample_clock,
                    i_D=node,
                    o_Q=sampled[side],
                )
            # q_bot stays high when the top edge came first.
            m.d.comb += self.puf.chains[chain].eq(sampled["bot"])
        return m
