"""Cost of the BCH decoder gateware on the two FPGA families, from nextpnr's own report.

Usage::

    .venv/bin/python benchmarks/bench_decoder_cost.py [BUILD_DIR]

Builds the chosen code's decoder (``ropuf.spec.code_params.CHOSEN``) behind a small LFSR
stimulus and an XOR-reduced output (so nothing is optimised away) for the iCEBreaker
(iCE40UP5K) and the ULX3S-85F (ECP5) with the YoWASP flow, and prints logic cells / LUTs,
flip-flops, block RAM, fmax against the 12 / 25 MHz clock, the decoder's cycles per key and
the build time. The stimulus adds a 32-bit LFSR and a few gates: the figures include them.
"""

import sys
import tempfile
from pathlib import Path

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import io, wiring

from ropuf.boards import yowasp
from ropuf.gateware.key.decoder import BCHDecoder, decode_cycles
from ropuf.spec.code_params import CHOSEN


def stimulus(m: Module, platform) -> tuple[Signal, Signal]:
    """A probe's scaffolding in *m*: a free-running 32-bit LFSR to drive a design's inputs, and
    the register ``out`` (returned with it) on the board's first LED, onto which the probe folds
    the design's outputs so that nothing is optimised away."""
    lfsr = Signal(32, init=1)
    m.d.sync += lfsr.eq(Cat(lfsr[1:], lfsr[0] ^ lfsr[10] ^ lfsr[30] ^ lfsr[31]))
    led = platform.request("led", 0, dir="-")
    m.submodules.led = led_buffer = io.Buffer("o", led)
    out = Signal()
    m.d.comb += led_buffer.o.eq(out)
    return lfsr, out


class DecoderProbe(wiring.Component):
    """The decoder fed by an LFSR, its outputs folded onto one LED."""

    def __init__(self):
        super().__init__({})
        self.decoder = BCHDecoder(CHOSEN)

    def elaborate(self, platform):
        m = Module()
        m.submodules.decoder = decoder = self.decoder
        lfsr, out = stimulus(m, platform)
        result = decoder.o_result
        m.d.comb += [
            decoder.i_bits.valid.eq(lfsr[3]),
            decoder.i_bits.payload.soft.eq(lfsr[:16]),
            decoder.i_bits.payload.offset.eq(lfsr[20]),
            result.ready.eq(lfsr[5]),
            decoder.message_shift.eq(lfsr[6]),
        ]
        m.d.sync += out.eq(result.payload.byte.xor() ^ result.payload.failed ^ result.valid)
        return m


def main() -> None:
    from amaranth_boards.icebreaker import ICEBreakerPlatform
    from amaranth_boards.ulx3s import ULX3S_85F_Platform

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="decoder-"))
    print(f"BCH decoder for {CHOSEN}")
    print(f"  cycles per key after the last input bit: {decode_cycles(CHOSEN)} (any error pattern)")
    for family, platform, cells in (
        ("ice40", ICEBreakerPlatform(), ("ICESTORM_LC", "ICESTORM_RAM", "SB_DFF")),
        ("ecp5", ULX3S_85F_Platform(), ("TRELLIS_COMB", "TRELLIS_FF", "DP16KD")),
    ):
        result = yowasp.build(platform, DecoderProbe(), out / family, family=family)
        used = result.report["utilization"]
        figures = ", ".join(
            f"{name} {used[name]['used']}/{used[name]['available']}"
            for name in cells
            if name in used
        )
        sync = next(v for k, v in result.report["fmax"].items() if "sync" in k)
        print(f"  {family}: {figures}")
        print(
            f"  {family}: fmax {sync['achieved']:.1f} MHz against {sync['constraint']:.1f} MHz; "
            f"build {result.seconds:.0f} s"
        )


if __name__ == "__main__":
    main()
