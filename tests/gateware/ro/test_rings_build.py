"""The FPGA ring bodies build with the YoWASP flow, and every ring LUT lands on its own BEL."""

import re

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import io, wiring

from ropuf.boards import yowasp
from ropuf.gateware.link.uart import UARTTx
from ropuf.gateware.ro.array import ROArray

N_RO = 16
STAGES = 5


class RingProbe(wiring.Component):
    """Measure neighbour pairs forever and send the low soft-value byte out of the UART."""

    def __init__(self, divisor: int, *, sequential: bool):
        self._divisor = divisor
        self.array = ROArray(n_ro=N_RO, stages=STAGES, gate_cycles=1024, sequential=sequential)
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        m.submodules.ro = ro = self.array
        m.submodules.tx = tx = UARTTx(divisor=self._divisor)
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_tx = uart_tx = io.Buffer("o", uart.tx)
        index = Signal(range(N_RO // 2))
        m.d.comb += [
            ro.enable.eq(1),
            ro.i_pairs.valid.eq(1),
            ro.i_pairs.payload.a.eq(index * 2),
            ro.i_pairs.payload.b.eq(index * 2 + 1),
            tx.i_stream.valid.eq(ro.o_results.valid),
            tx.i_stream.payload.eq(ro.o_results.payload.soft[:8]),
            ro.o_results.ready.eq(tx.i_stream.ready),
            uart_tx.o.eq(tx.tx),
        ]
        with m.If(ro.i_pairs.ready):
            m.d.sync += index.eq(index + 1)
        return m


def ring_bels(result: yowasp.BuildResult) -> dict[tuple[int, int], str]:
    """(ring, stage) -> placed BEL, for every ring LUT in the placed netlist."""
    found = {}
    for name, bel in result.bels.items():
        match = re.search(r"\bro(\d+)_lut(\d+)(_LC)?$", name)
        if match:
            found[int(match[1]), int(match[2])] = bel
    return found


@pytest.mark.build
@pytest.mark.parametrize("family", ["ice40", "ecp5"])
def test_rings_are_placed_on_their_bels(family, tmp_path):
    if family == "ice40":
        from amaranth_boards.icebreaker import ICEBreakerPlatform as Platform

        from ropuf.gateware.ro.ice40 import ICE40Ring as Ring
    else:
        from amaranth_boards.ulx3s import ULX3S_85F_Platform as Platform

        from ropuf.gateware.ro.ecp5 import ECP5Ring as Ring
    result = yowasp.build(
        Platform(), RingProbe(divisor=104, sequential=family == "ice40"), tmp_path, family=family
    )
    assert result.bitstream.is_file() and result.bitstream.stat().st_size > 0
    placed = ring_bels(result)
    ring = Ring(stages=STAGES, n_ro=N_RO)
    expected = {(i, k): bel for i in range(N_RO) for k, bel in enumerate(ring.bels(i))}
    assert placed == expected
    # Identical shape: every ring uses the same cells of its own tile.
    shapes = {tuple(bel.split("/")[-1] for bel in ring.bels(i)) for i in range(N_RO)}
    assert len(shapes) == 1
    # The system clock meets its constraint.
    fmax = result.report["fmax"]
    sync = next(value for key, value in fmax.items() if "sync" in key)
    assert sync["achieved"] >= sync["constraint"]
