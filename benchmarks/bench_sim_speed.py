# amaranth: UnusedElaboratable=no
"""Simulation speed: the full device top in Verilator against Icarus, and one attestation.

Usage::

    .venv/bin/python benchmarks/bench_sim_speed.py [--pairs N]

Prints (BENCHMARKS.md, "Simulation speed"):

1. simulated clock cycles per wall second of the simulated board's device top (1,536 ROs, key
   engine, 4-XOR arbiter; ``ropuf.sim.board``) in Verilator and in Icarus, in the same run, on
   the same requests through the UART (INFO, then READ_RO of N pairs, 64 by default), and
   their ratio; each simulator's answers are checked against the fast model device first;
2. the wall time of one ATTEST round trip through the simulated UART of the simulated board
   (Verilator behind the TCP bridge), after LOAD_HELPER + RECONSTRUCT of an enrolled record.

Needs Icarus Verilog (``apt-get install iverilog``); builds are cached as for the tests.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from ropuf.host.client import DeviceClient
from ropuf.sim import harness
from ropuf.sim.board import SIM_DEVICE, Condition, SimulatedBoard, _design, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.spec import commands, framing
from ropuf.spec.commands import Command
from ropuf.spec.ro_pairs import neighbour_pairs

sys.path.insert(0, str(Path(__file__).parent))  # a sibling script, not a package
from bench_key_path import enrolled_record, round_trips

TESTBENCH = "ropuf.sim.testbenches.device_speed"
CONDITION = Condition(die_seed=5, temperature=25.0, noise_seed=3)


def requests(pairs: int) -> list[bytes]:
    """The encoded request frames: INFO, then READ_RO of *pairs* neighbour pairs (as many
    requests as the command's pair limit needs)."""
    chosen = neighbour_pairs(SIM_DEVICE.n_ro)[:pairs]
    step = commands.MAX_READ_RO_PAIRS
    reads = [commands.encode_read_ro_request(chosen[i : i + step]) for i in range(0, pairs, step)]
    frames = [framing.encode_frame(1, Command.INFO)]
    return frames + [framing.encode_frame(2 + i, Command.READ_RO, r) for i, r in enumerate(reads)]


def expected_answers(frames: list[bytes]) -> list[str]:
    """What the fast model device answers, frame for frame (it is bit-identical to the board)."""
    device = FastDevice(device_model(CONDITION))
    answers = []
    for frame in frames:
        device.send(frame)
        answers.append(device.receive(0).hex())
    return answers


def measure(simulator: str, frames: list[bytes], work: Path) -> dict:
    design, name, env = _design()
    started = time.perf_counter()
    build = harness.build(design, name, simulator=simulator)
    build_seconds = time.perf_counter() - started
    (work / "frames.json").write_text(json.dumps([frame.hex() for frame in frames]))
    result = work / f"{simulator}.json"
    env = {
        **env,
        "ROPUF_SPEED_FRAMES": str(work / "frames.json"),
        "ROPUF_RESULT": str(result),
        "ROPUF_DIE_SEED": str(CONDITION.die_seed),
        "ROPUF_TEMPERATURE": str(CONDITION.temperature),
        "ROPUF_NOISE_SEED": str(CONDITION.noise_seed),
    }
    harness.run(build, TESTBENCH, env=env)
    figures = json.loads(result.read_text())
    figures["build_seconds"] = build_seconds
    figures["reused"] = build.reused
    return figures


def attest_round_trip() -> tuple[float, float]:
    """LOAD_HELPER + RECONSTRUCT and one ATTEST on the simulated board, in wall seconds."""
    record = enrolled_record(CONDITION)
    with SimulatedBoard(CONDITION) as board, DeviceClient.open(board.url, timeout=120) as client:
        return round_trips(client, record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=64, help="pairs of the READ_RO request")
    args = parser.parse_args()
    frames = requests(args.pairs)
    expected = expected_answers(frames)
    figures = {}
    with tempfile.TemporaryDirectory(prefix="ropuf-speed-") as work:
        for simulator in ("verilator", "icarus"):
            got = measure(simulator, frames, Path(work))
            assert got["answers"] == expected, f"{simulator} does not answer as the model does"
            figures[simulator] = got
    print(
        f"device top ({SIM_DEVICE.n_ro} ROs, key engine, arbiter), INFO + READ_RO of "
        f"{args.pairs} pairs through the UART, answers equal to the fast model:"
    )
    for simulator, got in figures.items():
        rate = got["cycles"] / got["wall_seconds"]
        built = "cached" if got["reused"] else f"built in {got['build_seconds']:.0f} s"
        print(
            f"  {simulator:<9} {got['cycles']:>9,.0f} cycles in {got['wall_seconds']:7.2f} s = "
            f"{rate:>10,.0f} cycles/s (clock: {got['clock']}; model {built})"
        )
    ratio = (figures["verilator"]["cycles"] / figures["verilator"]["wall_seconds"]) / (
        figures["icarus"]["cycles"] / figures["icarus"]["wall_seconds"]
    )
    print(f"  Verilator / Icarus: {ratio:,.1f}x")
    reconstruct, attest = attest_round_trip()
    print("simulated board (Verilator, UART over TCP):")
    print(f"  LOAD_HELPER + RECONSTRUCT: {reconstruct:.2f} s")
    print(f"  one ATTEST round trip:     {1e3 * attest:.1f} ms")


if __name__ == "__main__":
    main()
