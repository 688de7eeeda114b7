"""The host side: attestation verifications per second, enrollment time per device, and the
wall time of ``ropuf demo`` and ``ropuf fleet --dies 100``.

Usage::

    .venv/bin/python benchmarks/bench_host.py [--reads 5] [--verifications 2000] [--skip-commands]

1. **Verifications per second** on the host: :meth:`Verifier.verify` of fresh nonces for one
   enrolled device in an SQLite registry on disk (record signature check, key decryption,
   the nonce recorded in its own transaction, constant-time MAC comparison).
2. **Enrollment wall time per device**, the same work on both devices in the same run: die 41
   at 25 C, ``--reads`` full reads of the 832 ROs the construction uses (416 neighbour
   pairs), keygen, LOAD_HELPER + RECONSTRUCT + ATTEST verification and the registry write; on
   the fast model device and on the Verilator device behind its UART on a TCP port (board
   start-up timed apart). Both devices answer bit for bit alike, so both enrolments choose the
   same rank pairs.
3. **Command wall times**: ``ropuf demo`` (as ``make demo`` runs it) and ``ropuf fleet --dies
   100``, each in a child process.
"""

import argparse
import json
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host.attestation import Verifier
from ropuf.host.enrollment import SerialSource, enroll_device
from ropuf.host.registry import EnrollmentRecord, Registry
from ropuf.sim.board import Condition, SimulatedBoard
from ropuf.sim.sources import FastModelSource
from ropuf.spec.attestation import attestation_mac
from ropuf.spec.helper_data import HelperData


def verifications_per_second(folder: Path, count: int) -> tuple[float, float, float]:
    """Verifications per second, nonces issued per second, and the seconds of each
    verification spent recording its nonce."""
    owner = Ed25519PrivateKey.generate()
    key = secrets.token_bytes(32)
    helper = secrets.token_bytes(156)
    record = EnrollmentRecord(
        "bench", "2026-01-01T00:00:00+00:00", {}, helper, owner.public_key().public_bytes_raw()
    )
    with Registry(folder / "verify.db", secrets.token_bytes(32)) as registry:
        registry.enroll(record, key, owner)
        verifier = Verifier(registry)
        start = time.perf_counter()
        nonces = [verifier.challenge() for _ in range(count)]
        issued = count / (time.perf_counter() - start)
        macs = [attestation_mac(key, helper, nonce) for nonce in nonces]
        start = time.perf_counter()
        results = [verifier.verify("bench", n, m) for n, m in zip(nonces, macs, strict=True)]
        elapsed = time.perf_counter() - start
        # Spending the nonce (its own transaction: a commit, so an fsync) on its own, for the
        # breakdown: the same call verify makes.
        spare = [verifier.challenge() for _ in range(count // 4)]
        start = time.perf_counter()
        for nonce in spare:
            registry.spend_challenge(nonce, time.time())
        commit = (time.perf_counter() - start) / len(spare)
    assert all(r.ok for r in results), "a valid MAC was refused"
    return count / elapsed, issued, commit


def enrollment_times(folder: Path, reads: int) -> dict:
    condition = Condition(die_seed=41, noise_seed=3)
    design = condition.config.offsets  # the offsets the board's build holds
    owner = Ed25519PrivateKey.generate()
    master = secrets.token_bytes(32)
    with Registry(folder / "enrol.db", master) as registry:
        start = time.perf_counter()
        enroll_device(
            "fast", [FastModelSource(condition)], registry, owner, reads=reads, thresholds=design
        )
        fast = time.perf_counter() - start
        start = time.perf_counter()
        with SimulatedBoard(condition) as board:
            board_start = time.perf_counter() - start
            source = SerialSource(board.url, timeout=300)
            start = time.perf_counter()
            enroll_device("verilator", [source], registry, owner, reads=reads, thresholds=design)
            verilator = time.perf_counter() - start
        pairs = [
            HelperData.from_bytes(registry.record(d).helper_data).pairs
            for d in ("fast", "verilator")
        ]
    assert pairs[0] == pairs[1], "the two devices gave different rank pairs"
    return {"fast": fast, "verilator": verilator, "board_start": board_start}


def command_time(args: list[str]) -> tuple[float, dict]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "ropuf.cli.main", *args, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"ropuf {' '.join(args)} failed: {done.stderr.strip()}")
    return elapsed, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=5, help="enrollment reads (default 5)")
    parser.add_argument("--verifications", type=int, default=2000, help="default 2000")
    parser.add_argument("--skip-commands", action="store_true", help="no demo/fleet timing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ropuf-bench-") as tmp:
        folder = Path(tmp)
        rate, issued, commit = verifications_per_second(folder, args.verifications)
        print("host side")
        print(
            f"  attestation verifications  : {rate:8,.0f} per second "
            f"({args.verifications} fresh nonces, SQLite registry on disk)"
        )
        print(
            f"    of which nonce spending  : {commit * 1e3:8.2f} ms each (its own committed "
            f"transaction); the rest {(1 / rate - commit) * 1e3:.2f} ms"
        )
        print(
            f"  nonces issued              : {issued:8,.0f} per second (each committed as "
            f"pending before it is handed out); issue + verify {1 / (1 / rate + 1 / issued):,.0f}"
            " attestations per second"
        )
        times = enrollment_times(folder, args.reads)
        print(f"  enrollment, {args.reads} reads of 760 pairs + verification + registry write:")
        print(f"    fast model device        : {times['fast']:8.2f} s per device")
        print(
            f"    Verilator board (socket) : {times['verilator']:8.2f} s per device "
            f"(+ {times['board_start']:.1f} s board start)"
        )
        print(f"    Verilator / fast model   : {times['verilator'] / times['fast']:8.0f} x")
        if args.skip_commands:
            return
        demo, figures = command_time(["demo"])
        print(
            f"  ropuf demo                 : {demo:8.1f} s wall "
            f"(key-path part {figures['key_path']['seconds']:.0f} s, "
            f"fleet of {figures['fleet']['dies']} {figures['fleet']['seconds']:.0f} s)"
        )
        fleet, figures = command_time(["fleet", "--dies", "100", "--plots", str(folder / "p")])
        attested = sum(c["attested"] for c in figures["corners"])
        attempts = sum(c["attempts"] for c in figures["corners"])
        print(
            f"  ropuf fleet --dies 100     : {fleet:8.1f} s wall "
            f"({figures['enrolled']} enrolled, {attested}/{attempts} attestations at 5 "
            "corners)"
        )


if __name__ == "__main__":
    main()
