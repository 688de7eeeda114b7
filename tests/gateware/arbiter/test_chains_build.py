# amaranth: UnusedElaboratable=no
"""The FPGA arbiter bodies build with the YoWASP flow; every cell lands on its BEL, mirrored."""

import re

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import io, wiring

from ropuf.boards import yowasp
from ropuf.gateware.arbiter.puf import ArbiterPUF
from ropuf.gateware.link.uart import UARTTx

#: (stages, chains): the small probe the issue asks for, and the default-size PUF with 4 chains.
SIZES = [(32, 2), (64, 4)]


class ArbiterProbe(wiring.Component):
    """Evaluate challenges from an LFSR forever; send the responses, 8 a byte, over the UART."""

    def __init__(self, divisor: int, n_stages: int, k: int):
        self._divisor = divisor
        self._n_stages = n_stages
        self.puf = ArbiterPUF(n_stages=n_stages, k=k)
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.puf = puf = self.puf
        m.submodules.tx = tx = UARTTx(divisor=self._divisor)
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_tx = uart_tx = io.Buffer("o", uart.tx)
        lfsr = Signal(max(32, self._n_stages), init=1)
        byte = Signal(8)
        count = Signal(range(8))
        full = Signal()
        m.d.comb += [
            puf.enable.eq(1),
            puf.i_challenge.valid.eq(1),
            puf.i_challenge.payload.eq(lfsr[: self._n_stages]),
            puf.o_response.ready.eq(~full),
            tx.i_stream.valid.eq(full),
            tx.i_stream.payload.eq(byte),
            uart_tx.o.eq(tx.tx),
        ]
        with m.If(puf.i_challenge.ready):  # Galois-free 32-bit LFSR, taps 32, 22, 2, 1
            m.d.sync += lfsr.eq((lfsr << 1) | (lfsr[31] ^ lfsr[21] ^ lfsr[1] ^ lfsr[0]))
        with m.If(puf.o_response.valid & ~full):
            m.d.sync += [byte.eq((byte << 1) | puf.o_response.payload.bit), count.eq(count + 1)]
            with m.If(count == 7):
                m.d.sync += full.eq(1)
        with m.If(tx.i_stream.ready & full):
            m.d.sync += full.eq(0)
        return m


PLACED_CELL = r"\barb(\d+)_(launch|arbiter|(?:s\d+|latch|sample)_(?:top|bot))(_LC|_DFFLC)?$"


def placed_cells(result: yowasp.BuildResult) -> dict[tuple[int, str], str]:
    """(chain, cell) -> placed BEL for every arbiter cell in the placed netlist."""
    found = {}
    for name, bel in result.bels.items():
        match = re.search(PLACED_CELL, name)
        if match:
            found[int(match[1]), match[2]] = bel
    return found


def tile_and_slot(bel: str) -> tuple[int, int, str]:
    x, y, slot = re.fullmatch(r"X(\d+)/Y(\d+)/(.+)", bel).groups()
    return int(x), int(y), slot


@pytest.mark.build
@pytest.mark.parametrize(("n_stages", "k"), SIZES)
@pytest.mark.parametrize("family", ["ice40", "ecp5"])
def test_chains_are_placed_on_their_bels_symmetrically(family, n_stages, k, tmp_path):
    if family == "ice40":
        from amaranth_boards.icebreaker import ICEBreakerPlatform as Platform

        from ropuf.gateware.arbiter.ice40 import ICE40ArbiterBody as Body
    else:
        from amaranth_boards.ulx3s import ULX3S_85F_Platform as Platform

        from ropuf.gateware.arbiter.ecp5 import ECP5ArbiterBody as Body
    probe = ArbiterProbe(divisor=104, n_stages=n_stages, k=k)
    result = yowasp.build(Platform(), probe, tmp_path, family=family)
    assert result.bitstream.is_file() and result.bitstream.stat().st_size > 0
    body = Body(n_stages=n_stages, k=k)
    expected = {(chain, cell): bel for chain in range(k) for cell, bel in body.bels(chain).items()}
    assert placed_cells(result) == expected
    first = [tile_and_slot(bel) for bel in body.bels(0).values()]
    for chain in range(k):
        bels = body.bels(chain)
        pairs = [name[: -len("_top")] for name in bels if name.endswith("_top")]
        assert len(pairs) >= n_stages
        for pair in pairs:
            # The two cells of a pair (a stage's multiplexers, the latch halves, the samplers)
            # share a tile: the mirror cell beside it.
            top = tile_and_slot(bels[f"{pair}_top"])
            bot = tile_and_slot(bels[f"{pair}_bot"])
            assert top[:2] == bot[:2] and top[2] != bot[2], pair
        # Every chain has the same shape: the same slots, offset by a constant tile step.
        this = [tile_and_slot(bel) for bel in bels.values()]
        steps = {(b[0] - a[0], b[1] - a[1]) for a, b in zip(first, this, strict=True)}
        assert len(steps) == 1
        assert [a[2] for a in first] == [b[2] for b in this]
    # No global buffer was put into a path: only the system clock, a reset and (iCE40) the
    # samplers' clock may use one; a path on a global would gain nanoseconds over its twin.
    globals_ = [name for name in result.bels if "gbuf" in name]
    assert not [name for name in globals_ if re.search(r"arb\d+_net\d+_(top|bot)", name)]
    fmax = result.report["fmax"]
    sync = next(value for key, value in fmax.items() if "sync" in key)
    assert sync["achieved"] >= sync["constraint"]
    used = {
        name: cell["used"] for name, cell in result.report["utilization"].items() if cell["used"]
    }
    print(f"{family} n={n_stages} k={k}: {used}, sync {sync['achieved']:.0f} MHz")
