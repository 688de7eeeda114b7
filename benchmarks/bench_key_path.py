# amaranth: UnusedElaboratable=no
"""The key path: cycles of RECONSTRUCT and ATTEST on the fabric, and round trips in simulation.

Usage::

    .venv/bin/python benchmarks/bench_key_path.py [--boards ulx3s,icebreaker]

Prints, for each simulated board (the ECP5 build with the fast cores, the iCEBreaker build with
the compact cores):

1. the key engine's own cycles for RECONSTRUCT (validation, pair walk, decoding, the key
   derivation program) and ATTEST, measured in Amaranth's simulator with an RO array stand-in
   that answers at once, and the whole RECONSTRUCT on the board (adding the pairs'
   measurement time: two gate windows a pair on the iCE40's sequential bank) at 12 MHz and at
   the board's clock, for the simulated gate and the boards' 4,096-cycle gate;
2. wall time of LOAD_HELPER + RECONSTRUCT and of one ATTEST round trip on the simulated board
   (Verilator behind the UART bridge) and on the fast model device, in the same run, as a
   ratio.
"""

import argparse
import time

import numpy as np

from ropuf.gateware.key.engine import KeyEngine
from ropuf.gateware.ro.array import ROArray
from ropuf.host.client import DeviceClient
from ropuf.host.keygen import enrol
from ropuf.sim.board import SIM_BOARDS, Condition, SimulatedBoard, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.sim.handler_driver import drive_handler
from ropuf.sim.ro_measure import measure_pairs
from ropuf.spec import commands
from ropuf.spec.commands import Command
from ropuf.spec.ro_pairs import neighbour_pairs

ROUND_TRIPS = 5
#: Each board's clock, and whether its ring bank measures a pair in two windows (iCE40).
BOARD_CLOCKS = {"ulx3s": (25e6, False), "icebreaker": (12e6, True)}


def engine_figures(config, record: bytes, rates) -> tuple[int, int]:
    """Cycles of RECONSTRUCT and ATTEST on the engine alone (the RO array answers at once)."""
    engine = KeyEngine(
        code=config.code,
        n_ro=config.n_ro,
        count_width=16,
        soft_width=16,
        compact=config.compact_key_path,
        offsets=config.offsets,
    )
    requests = [(Command.LOAD_HELPER, chunk) for chunk in commands.encode_load_helper(record)]
    requests += [(Command.RECONSTRUCT, b""), (Command.ATTEST, bytes(32))]
    *_, (reconstruct_status, _, reconstruct), (attest_status, _, attest) = drive_handler(
        engine, requests, soft_of_pair=lambda a, b: int(rates[a] - rates[b])
    )
    assert reconstruct_status == attest_status == 0, "the stand-in record must reconstruct"
    return reconstruct, attest


def enrolled_record(config, condition: Condition) -> bytes:
    """Helper data of the simulated board's die at *condition*, from 8 model reads."""
    model = device_model(condition)
    pairs = neighbour_pairs(config.code.ros)
    reads, state = [], None
    for _ in range(8):
        results, state = measure_pairs(
            model.rates, pairs, model.config, seed=77, noise_scale=model.noise_scale,
            common_scale=model.common_scale, state=state,
        )  # fmt: skip
        reads.append([count for r in results for count in (r.count_a, r.count_b)])
    helper = enrol(np.array(reads), config.code, n_ro=config.n_ro, offsets=config.offsets).helper
    return helper.to_bytes()


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


def board_figures(board: str) -> None:
    config = SIM_BOARDS[board]
    code = config.code
    clock, sequential = BOARD_CLOCKS[board]
    condition = Condition(die_seed=3, board=board)
    record = enrolled_record(config, condition)
    rng = np.random.default_rng(1)
    rates = rng.normal(0, 200, config.n_ro).round()
    stand_in = enrol(
        rates + rng.normal(0, 5, (4, config.n_ro)), code, n_ro=config.n_ro, offsets=config.offsets
    )
    reconstruct, attest = engine_figures(config, stand_in.helper.to_bytes(), rates)
    cores = "compact" if config.compact_key_path else "fast"
    print(
        f"{board}: BCH({code.n},{code.k},t={code.t}), {code.selected_bits} rank pairs of "
        f"{code.ros} ROs, {cores} cores, {len(record)}-byte record"
    )
    print(f"  key engine, RECONSTRUCT without RO gate time: {reconstruct:,} cycles")
    print(f"  key engine, ATTEST (32-byte nonce taken to MAC ready): {attest:,} cycles")
    for gate in (config.gate_cycles, 4096):
        array = ROArray(n_ro=config.n_ro, gate_cycles=gate, simulation=True, sequential=sequential)
        total = reconstruct + code.selected_bits * array.cycles_per_result
        print(
            f"    whole RECONSTRUCT, gate {gate:>5} cycles: {total:>9,} cycles = "
            f"{1e3 * total / 12e6:6.1f} ms at 12 MHz, {1e3 * total / clock:6.1f} ms at "
            f"{clock / 1e6:.0f} MHz; ATTEST {1e6 * attest / 12e6:.0f} us at 12 MHz"
        )
    with DeviceClient(FastDevice(device_model(condition))) as client:
        fast = round_trips(client, record)
    with SimulatedBoard(condition) as sim, DeviceClient.open(sim.url, timeout=300) as client:
        slow = round_trips(client, record)
    print("  round trips, simulated board (Verilator, UART bridge) vs fast model device:")
    print(
        f"    LOAD_HELPER + RECONSTRUCT: {slow[0]:8.3f} s vs {1e3 * fast[0]:7.2f} ms "
        f"({slow[0] / fast[0]:,.0f}x)"
    )
    print(
        f"    ATTEST:                    {1e3 * slow[1]:8.1f} ms vs {1e3 * fast[1]:7.2f} ms "
        f"({slow[1] / fast[1]:,.0f}x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default=",".join(BOARD_CLOCKS), help="comma-separated")
    for board in parser.parse_args().boards.split(","):
        board_figures(board)


if __name__ == "__main__":
    main()
