"""Board builds: wall time cold and warm, utilisation per block, fmax; and what the key path
would cost on the iCE40UP5K.

Usage::

    .venv/bin/python benchmarks/bench_build.py [--boards icebreaker,ulx3s-85f] [--no-probe]

For each board and variant, ``ropuf build`` twice into an empty, throw-away build cache:
*cold* is the first build (the build-output cache is empty; the YoWASP tools' own WebAssembly
compile cache is not emptied, so a first run on a fresh machine adds about a minute), *warm*
the second, a cache hit (elaboration, RTLIL and the cache key only). Then the build report.

The probe builds the iCEBreaker's device top with the chosen code's BCH decoder and an
HMAC-SHA256 core beside it (fed by an LFSR, folded onto an LED so nothing is optimised away):
the key path's two big blocks, which the device top does not have yet. It prints nextpnr's
utilisation, or the figures that do not fit.
"""

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import io, wiring

from ropuf.boards import build, yowasp
from ropuf.boards.profiles import PROFILES, VARIANTS
from ropuf.boards.top import BoardTop
from ropuf.gateware.crypto.hmac_sha256 import HMACSHA256
from ropuf.gateware.key.decoder import BCHDecoder
from ropuf.spec.code_params import CHOSEN


class KeyPathProbe(wiring.Component):
    """A board top plus the BCH decoder and HMAC-SHA256, driven by an LFSR, folded onto LED 1."""

    def __init__(self, profile, variant: str):
        super().__init__({})
        self.board = BoardTop(profile, variant)
        self.decoder = BCHDecoder(CHOSEN)
        self.hmac = HMACSHA256(key_bytes=32)

    def elaborate(self, platform):
        m = Module()
        m.submodules.board = self.board
        m.submodules.decoder = decoder = self.decoder
        m.submodules.hmac = hmac = self.hmac
        lfsr = Signal(32, init=1)
        m.d.sync += lfsr.eq(Cat(lfsr[1:], lfsr[0] ^ lfsr[10] ^ lfsr[30] ^ lfsr[31]))
        message = decoder.o_result.payload.message
        key = Signal(256)
        with m.If(decoder.o_result.valid):
            m.d.sync += key.eq(Cat(message, lfsr))
        m.d.comb += [
            decoder.i_bits.valid.eq(lfsr[3]),
            decoder.i_bits.payload.soft.eq(lfsr[:16]),
            decoder.i_bits.payload.offset.eq(lfsr[20]),
            decoder.o_result.ready.eq(lfsr[5]),
            hmac.key.eq(key),
            hmac.i_stream.valid.eq(lfsr[7]),
            hmac.i_stream.payload.data.eq(lfsr[8:16]),
            hmac.i_stream.payload.last.eq(lfsr[17] & lfsr[18]),
            hmac.o_mac.ready.eq(lfsr[9]),
        ]
        out = Signal()
        m.d.sync += out.eq(
            hmac.o_mac.payload.xor() ^ decoder.o_result.payload.failed ^ message.xor()
        )
        m.submodules.led = led = io.Buffer("o", platform.request("led", 1, dir="-"))
        m.d.comb += led.o.eq(out)
        return m


def _table(report: dict) -> list[str]:
    total = report["total"]
    lines = []
    for name in (*build.BLOCKS, "total"):
        figures = total if name == "total" else report["blocks"][name]
        cells = []
        for key in ("luts", "ffs", "brams"):
            used = figures[key]["used"] if name == "total" else figures[key]
            cells.append(f"{used:>7,} / {total[key]['available']:<7,}")
        lines.append(f"    {name:<8} {'  '.join(cells)}")
    return lines


def bench_board(board: str, variant: str, cache: Path) -> None:
    cold = build.build_board(board, variant, cache_dir=cache)
    warm = build.build_board(board, variant, cache_dir=cache)
    assert not cold.cached and warm.cached, "the second build must come from the cache"
    report = cold.report
    system = report["fmax"]["system"]
    print(f"  {board} {variant} ({report['device']}, {report['rings']['n_ro']} ROs)")
    print(f"    build wall time: cold {cold.seconds:.1f} s, warm {warm.seconds:.1f} s")
    counters = report["fmax"]["ring_counters_mhz"]  # none when nothing reads the rings
    print(
        f"    fmax {system['achieved_mhz']:.1f} MHz against {system['required_mhz']:.1f} MHz"
        + (f"; ring counters {min(counters):.1f} MHz" if counters else "")
    )
    cells = report["total"]["cells"]
    print(
        f"    placed {cells['used']:,} / {cells['available']:,} {cells['type']} "
        f"({100 * cells['used'] / cells['available']:.1f} %)"
    )
    print(f"    {'block':<8} {'LUTs':^17}  {'flip-flops':^17}  {'block RAM':^17}")
    for line in _table(report):
        print(line)
    for phrase in report["features"]:
        print(f"    has: {phrase}")


def probe_key_path(board: str, n_ro: int, variant: str, folder: Path) -> None:
    profile = dataclasses.replace(PROFILES[board], n_ro=n_ro)
    print(
        f"  {board} {variant}, {n_ro} ROs + BCH{(CHOSEN.n, CHOSEN.k)} decoder + HMAC-SHA256 "
        "(probe):"
    )
    platform = profile.make_platform()
    directory = folder / f"probe-{board}-{variant}-{n_ro}"
    started = time.monotonic()
    try:
        result = yowasp.build(platform, KeyPathProbe(profile, variant), directory, family="ice40")
    except yowasp.BuildError:
        used = yowasp.utilisation_from_log((directory / "top.tim").read_text())
        lc, available = used["ICESTORM_LC"]
        print(
            f"    does not fit: {lc:,} / {available:,} ICESTORM_LC ({100 * lc / available:.0f} %)"
            f", {time.monotonic() - started:.0f} s"
        )
        return
    used = result.report["utilization"]["ICESTORM_LC"]
    sync = result.report["fmax"][build.system_clock(result.report["fmax"])]
    print(
        f"    fits: {used['used']:,} / {used['available']:,} ICESTORM_LC, fmax "
        f"{sync['achieved']:.1f} MHz against {sync['constraint']:.1f} MHz, "
        f"{result.seconds:.0f} s"
    )


#: (board, variant) pairs built by default: every board's enrollment build (the larger one) and
#: the iCEBreaker deployment build that CI makes.
DEFAULT_BUILDS = [(name, "enrollment") for name in PROFILES] + [("icebreaker", "deployment")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--builds",
        default=",".join(f"{board}:{variant}" for board, variant in DEFAULT_BUILDS),
        help="comma-separated BOARD:VARIANT pairs (default: %(default)s)",
    )
    parser.add_argument("--no-probe", action="store_true", help="skip the UP5K key-path probe")
    args = parser.parse_args()
    builds = [item.split(":") for item in args.builds.split(",")]
    for board, variant in builds:
        build.find_profile(board)
        if variant not in VARIANTS:
            parser.error(f"unknown variant {variant!r}")
    with tempfile.TemporaryDirectory(prefix="ropuf-bench-build-") as tmp:
        folder = Path(tmp)
        print("Board builds (cold: empty build-output cache; warm: cache hit)")
        for board, variant in builds:
            bench_board(board, variant, folder / "cache")
        if not args.no_probe:
            print("Key path on the iCE40UP5K (5,280 logic cells)")
            for variant in VARIANTS:
                probe_key_path("icebreaker", 16, variant, folder)


if __name__ == "__main__":
    main()
