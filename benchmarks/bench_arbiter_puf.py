"""Arbiter PUF: quality over a simulated fleet and corners, and CRPs per second of the gateware.

Usage::

    .venv/bin/python benchmarks/bench_arbiter_puf.py

1. For k = 1..5 chains of 64 stages, 40 dies of ``ropuf.sim.arbiter_model`` answer 2,000
   challenges each (``ropuf.sim.arbiter_fleet.characterise``, metrics from
   ``ropuf.host.metrics``): uniformity, uniqueness, bit-aliasing, min-entropy, and reliability
   at five corners, of single answers and of 5-vote majorities, against the majority of 11
   answers at 25 C.
2. The gateware (simulation body, 64 stages, one chain) streams 2,000 challenges back to back
   in Verilator, every answer checked against the model; prints CRPs per wall second of the
   simulation and CRPs per second the same sequence gives on a 12 MHz board.
3. The device link: the bound the line rate sets (115,200 baud, 8N1, at least the 8 challenge
   bytes in per CRP); ``bench_arbiter_link.py`` measures the ARBITER command itself.
"""

import json
import tempfile
from pathlib import Path

from ropuf.gateware.arbiter.puf import ArbiterPUF
from ropuf.sim import harness
from ropuf.sim.arbiter_fleet import CORNERS, characterise

N_STAGES = 64
CLOCK_HZ = 12e6
BAUD = 115_200


def fleet() -> None:
    print(f"Fleet of 40 dies, {N_STAGES} stages, 2,000 challenges (fractions in %)")
    header = f"{'k':>2} {'unif.':>6} {'uniq.':>6} {'alias sd':>8} {'H_min':>6}"
    names = list(CORNERS)
    print(header + "  reliability (single / 5-vote) at " + " | ".join(names))
    for k in (1, 2, 3, 4, 5):
        f = characterise(k=k, n_stages=N_STAGES)
        cells = " | ".join(
            f"{100 * f.reliability[name]:5.2f} / {100 * f.reliability_voted[name]:5.2f}"
            for name in names
        )
        print(
            f"{k:>2} {100 * f.uniformity_mean:6.2f} {100 * f.uniqueness:6.2f} "
            f"{f.bit_aliasing_spread:8.3f} {f.min_entropy:6.3f}  {cells}",
            flush=True,
        )


def gateware() -> None:
    dut = ArbiterPUF(n_stages=N_STAGES, k=1, expose_chains=True, simulation=True)
    build = harness.build(dut, f"arbiter_puf_n{N_STAGES}_k1")
    cases = [
        {
            "die_seed": 7,
            "temperature": 25.0,
            "voltage": 1.2,
            "noise_seed": 1,
            "challenges": 2000,
            "challenge_seed": 3,
        }
    ]
    with tempfile.TemporaryDirectory() as tmp:
        cases_file, result_file = Path(tmp) / "cases.json", Path(tmp) / "result.json"
        cases_file.write_text(json.dumps(cases))
        harness.run(
            build,
            "ropuf.sim.testbenches.arbiter_puf",
            env={
                "ROPUF_ARB_N": str(N_STAGES),
                "ROPUF_ARB_K": "1",
                "ROPUF_ARB_CASES": str(cases_file),
                "ROPUF_RESULT": str(result_file),
            },
        )
        figures = json.loads(result_file.read_text())
    cycles_per_crp = figures["cycles"] / figures["responses"]
    print()
    print(f"Gateware, {N_STAGES} stages, settle {dut.settle_cycles} cycles")
    simulated = figures["responses"] / figures["wall_seconds"]
    board = CLOCK_HZ / cycles_per_crp
    challenge_bytes = (N_STAGES + 7) // 8
    link = BAUD / 10 / challenge_bytes
    rows = [
        ("responses checked against the model", f"{figures['responses']:,}"),
        ("cycles per CRP, back to back", f"{cycles_per_crp:.2f}"),
        ("Verilator (cocotb)", f"{simulated:,.0f} CRPs/s"),
        (f"on a {CLOCK_HZ / 1e6:.0f} MHz board", f"{board:,.0f} CRPs/s"),
        (f"device link at {BAUD:,} baud (bound)", f"{link:,.0f} CRPs/s"),
    ]
    for label, value in rows:
        print(f"  {label:<38}: {value}")
    print(
        f"  (the bound counts only the {challenge_bytes} challenge bytes in per CRP, 10 bits a "
        "byte, no framing; bench_arbiter_link.py measures the ARBITER command)"
    )


def main() -> None:
    fleet()
    gateware()


if __name__ == "__main__":
    main()
