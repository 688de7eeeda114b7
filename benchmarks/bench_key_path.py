# amaranth: UnusedElaboratable=no
"""The key path: cycles of RECONSTRUCT and ATTEST on the fabric, and round trips in simulation.

Usage::

    .venv/bin/python benchmarks/bench_key_path.py

Prints:

1. the key engine's own cycles for RECONSTRUCT (validation, mask walk, decoding, the key
   derivation program) and ATTEST with the chosen code, measured in Amaranth's simulator with
   an RO array stand-in that answers at once, and the whole RECONSTRUCT on a board
   (adding the selected pairs' measurement time) at 12 MHz for the board and simulated gates;
2. wall time of LOAD_HELPER + RECONSTRUCT and of one ATTEST round trip on the simulated board
   (Verilator behind the UART bridge) and on the fast model device, in the same run, as a
   ratio.
"""

import time

import numpy as np

from ropuf.gateware.key.engine import KeyEngine
from ropuf.gateware.ro.array import ROArray
from ropuf.host.client import DeviceClient
from ropuf.host.keygen import enrol
from ropuf.sim.board import SIM_DEVICE, Condition, SimulatedBoard, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.sim.handler_driver import drive_handler
from ropuf.sim.ro_measure import measure_pairs
from ropuf.spec import commands
from ropuf.spec.commands import Command

CODE = SIM_DEVICE.code
CLOCK_HZ = 12e6
ROUND_TRIPS = 5


def engine_figures(record: bytes, soft: dict) -> tuple[int, int]:
    engine = KeyEngine(code=CODE, n_ro=SIM_DEVICE.n_ro, count_width=16, soft_width=16)
    requests = [(Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(record)]
    requests += [(Command.RECONSTRUCT, b""), (Command.ATTEST, bytes(32))]
    *_, (reconstruct_status, _, reconstruct), (attest_status, _, attest) = drive_handler(
        engine, requests, soft_of_pair=lambda a, b: soft[a]
    )
    assert reconstruct_status == attest_status == 0, "the stand-in record must reconstruct"
    return reconstruct, attest


def enrolled_record(condition: Condition) -> bytes:
    """Helper data of the simulated board's die at *condition*, from 8 model reads."""
    model = device_model(condition)
    pairs = [(2 * i, 2 * i + 1) for i in range(SIM_DEVICE.code.candidate_pairs)]
    reads, state = [], None
    for _ in range(8):
        results, state = measure_pairs(
            model.rates, pairs, model.config, seed=77, noise_scale=model.noise_scale,
            common_scale=model.common_scale, state=state,
        )  # fmt: skip
        reads.append([r.soft for r in results])
    return enrol(np.array(reads), SIM_DEVICE.code, n_ro=SIM_DEVICE.n_ro).helper.to_bytes()


def round_trips(client: DeviceClient, record: bytes) -> tuple[float, float]:
    start = time.perf_counter()
    for chunk in commands.encode_load_helper(record):
        client.request(Command.LOAD_HELPER, chunk)
    client.request(Command.RECONSTRUCT)
    reconstruct = time.perf_counter() - start
    start = time.perf_counter()
    for i in range(ROUND_TRIPS):
        client.request(Command.ATTEST, bytes([i]) * 32)
    return reconstruct, (time.perf_counter() - start) / ROUND_TRIPS


def main() -> None:
    rng = np.random.default_rng(1)
    means = rng.normal(0, 200, CODE.candidate_pairs).round()
    stand_in = enrol(means + rng.normal(0, 5, (4, CODE.candidate_pairs)), CODE, n_ro=1536)
    soft = {2 * i: int(means[i]) for i in range(CODE.candidate_pairs)}
    reconstruct, attest = engine_figures(stand_in.helper.to_bytes(), soft)
    print(f"code: BCH({CODE.n},{CODE.k},t={CODE.t}), {CODE.candidate_pairs} candidate pairs")
    print(f"key engine, RECONSTRUCT without RO gate time: {reconstruct:,} cycles")
    print(f"key engine, ATTEST (32-byte nonce taken to MAC ready): {attest:,} cycles")
    for gate in (SIM_DEVICE.gate_cycles, 4096):
        per_pair = ROArray(n_ro=SIM_DEVICE.n_ro, gate_cycles=gate, simulation=True)
        total = reconstruct + CODE.selected_bits * per_pair.cycles_per_result
        print(
            f"  whole RECONSTRUCT, gate {gate:>5} cycles: {total:>9,} cycles = "
            f"{1e3 * total / CLOCK_HZ:6.1f} ms at 12 MHz; ATTEST {1e6 * attest / CLOCK_HZ:.0f} us"
        )

    condition = Condition(die_seed=3)
    record = enrolled_record(condition)
    with DeviceClient(FastDevice(device_model(condition))) as client:
        fast = round_trips(client, record)
    with SimulatedBoard(condition) as board, DeviceClient.open(board.url, timeout=120) as client:
        slow = round_trips(client, record)
    print("round trips, simulated board (Verilator, UART bridge) vs fast model device:")
    print(
        f"  LOAD_HELPER + RECONSTRUCT: {slow[0]:8.3f} s vs {1e3 * fast[0]:7.2f} ms "
        f"({slow[0] / fast[0]:,.0f}x)"
    )
    print(
        f"  ATTEST:                    {1e3 * slow[1]:8.1f} ms vs {1e3 * fast[1]:7.2f} ms "
        f"({slow[1] / fast[1]:,.0f}x)"
    )


if __name__ == "__main__":
    main()
