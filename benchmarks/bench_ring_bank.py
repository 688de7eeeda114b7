"""What the iCE40 ring bank costs on the UP5K: logic cells for 256 and 384 ROs and the fmax of
its ring-clocked counter, from a YoWASP build (synth_ice40, nextpnr-ice40 --up5k).

Usage::

    .venv/bin/python benchmarks/bench_ring_bank.py [--n-ro 256,384] [--stages 5]

Each build is an :class:`~ropuf.gateware.ro.array.ROArray` (the placed rings, their selects, the
XOR combiner, the prescaled counter and the two-window sequencer) on the iCEBreaker's ring
placement, fed arbitrary pairs by an LFSR, its results folded onto an LED so that nothing is
optimised away; the probe alone (LFSR and fold) is built too and subtracted. Slow: a nextpnr run
per figure, a few minutes each.
"""

import argparse
import tempfile
import time
from pathlib import Path

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import io, wiring

from ropuf.boards import build, yowasp
from ropuf.boards.profiles import PROFILES
from ropuf.gateware.ro.array import ROArray

PROFILE = PROFILES["icebreaker"]


class BankProbe(wiring.Component):
    """An RO array of *stages*-LUT rings (none when *n_ro* is 0) measuring LFSR-chosen pairs;
    results onto LED 1."""

    def __init__(self, n_ro: int, stages: int = PROFILE.stages):
        super().__init__({})
        self.array = (
            ROArray(
                n_ro=n_ro,
                stages=stages,
                gate_cycles=PROFILE.gate_cycles,
                ring_placement=PROFILE.placement,
            )
            if n_ro
            else None
        )

    def elaborate(self, platform):
        m = Module()
        lfsr = Signal(32, init=1)
        m.d.sync += lfsr.eq(Cat(lfsr[1:], lfsr[0] ^ lfsr[10] ^ lfsr[30] ^ lfsr[31]))
        out = Signal()
        if self.array is None:
            m.d.sync += out.eq(lfsr.xor())
        else:
            m.submodules.array = array = self.array
            m.d.comb += [
                array.enable.eq(1),
                array.i_pairs.valid.eq(1),
                array.i_pairs.payload.a.eq(lfsr[:16]),
                array.i_pairs.payload.b.eq(lfsr[16:]),
                array.o_results.ready.eq(lfsr[5]),
            ]
            m.d.sync += out.eq(array.o_results.payload.as_value().xor())
        m.submodules.led = led = io.Buffer("o", platform.request("led", 1, dir="-"))
        m.d.comb += led.o.eq(out)
        return m


def measure(n_ro: int, stages: int, folder: Path) -> tuple[int, dict, float]:
    """ICESTORM_LC used, nextpnr's fmax report and the build seconds for *n_ro* rings."""
    started = time.monotonic()
    result = yowasp.build(
        PROFILE.make_platform(),
        BankProbe(n_ro, stages),
        folder / f"bank-{n_ro}-{stages}",
        family="ice40",
    )
    lcs = result.report["utilization"]["ICESTORM_LC"]["used"]
    return lcs, result.report["fmax"], time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-ro", default="256,384", help="comma-separated RO counts")
    parser.add_argument("--stages", type=int, default=PROFILE.stages, help="LUTs per ring")
    args = parser.parse_args()
    counts = [int(n) for n in args.n_ro.split(",")]
    print(f"iCE40 ring bank on the UP5K, {args.stages}-LUT rings, placement {PROFILE.placement}")
    with tempfile.TemporaryDirectory(prefix="ropuf-bank-") as tmp:
        base, _, seconds = measure(0, args.stages, Path(tmp))
        print(f"  probe alone (LFSR, fold, LED): {base} LCs ({seconds:.0f} s)")
        for n_ro in counts:
            lcs, fmax, seconds = measure(n_ro, args.stages, Path(tmp))
            bank = lcs - base
            system = build.system_clock(fmax)
            print(
                f"  {n_ro} ROs: {lcs:,} LCs in all, {bank:,} for the array "
                f"({bank / n_ro:.2f} per RO), {seconds:.0f} s"
            )
            for net, figures in sorted(fmax.items()):
                role = "system clock" if net == system else "ring-clocked"
                print(
                    f"    fmax {figures['achieved']:7.1f} MHz  {role:<13} {net}"
                    + (f" (constraint {figures['constraint']:.1f} MHz)" if net == system else "")
                )


if __name__ == "__main__":
    main()
