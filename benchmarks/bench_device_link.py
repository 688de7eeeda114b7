"""The host-to-device link: the Verilator device on a TCP port against the fast model device.

Usage::

    .venv/bin/python benchmarks/bench_device_link.py

Serves the device top in Verilator (``ropuf sim serve`` in a child process), then through the
host client: the wall time of INFO round trips, and of READ_RO requests of 32 pairs (the
answers checked against the fast model device for the same die); the same requests against the
fast model device, measured in the same run, give the speed ratio. The board's own figures
(``ROPUF_SERVE_STATS``) give the simulated cycles per second with the bridge running, over the
READ_RO rounds as the host sees them and over the time the simulator was busy, and the bytes per
second through the link.
"""

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from ropuf.host.client import DeviceClient
from ropuf.sim.board import SIM_DEVICE, SIM_DIVISOR, Condition, SimulatedBoard, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.spec import commands, framing
from ropuf.spec.ro_pairs import neighbour_pairs

ROUNDS = 10


def timed(call, rounds: int = ROUNDS) -> tuple[list[float], object]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return times, result


def board_stats(path: Path) -> dict:
    return json.loads(path.read_text())


def main() -> None:
    condition = Condition(die_seed=21)
    pairs = neighbour_pairs(SIM_DEVICE.n_ro)[:32]
    request = framing.frame_size(4 * len(pairs))
    answer = framing.frame_size(commands.READ_RO_RESULT_BYTES * len(pairs))
    stats_dir = tempfile.TemporaryDirectory(prefix="ropuf-bench-")
    stats_file = Path(stats_dir.name) / "board.json"
    os.environ["ROPUF_SERVE_STATS"] = str(stats_file)  # inherited by the board's simulator
    started = time.perf_counter()
    with SimulatedBoard(condition) as board, DeviceClient.open(board.url, timeout=60) as device:
        start_seconds = time.perf_counter() - started
        fast = DeviceClient(FastDevice(device_model(condition)))
        info_times, _ = timed(device.info)
        before, wall = board_stats(stats_file), time.perf_counter()
        read_times, counts = timed(lambda: device.read_ro(pairs))
        after, wall = board_stats(stats_file), time.perf_counter() - wall
        fast_info, _ = timed(fast.info)
        fast_read, fast_counts = timed(lambda: fast.read_ro(pairs))
    del os.environ["ROPUF_SERVE_STATS"]
    stats_dir.cleanup()
    # Both devices started from the same noise seed and did the same requests in order.
    assert counts == fast_counts, "the Verilator device and the fast model disagree"
    read = statistics.median(read_times)
    line_baud = 12e6 / SIM_DIVISOR
    print(f"device link, simulated board (UART divisor {SIM_DIVISOR}: {line_baud:,.0f} baud)")
    print(
        f"  INFO round trip, Verilator   : {statistics.median(info_times) * 1e3:8.1f} ms (median)"
    )
    print(f"  INFO round trip, fast model  : {statistics.median(fast_info) * 1e6:8.1f} us")
    print(
        f"  READ_RO of {len(pairs)} pairs, Verilator : {read * 1e3:8.1f} ms; "
        f"{(request + answer) / read:,.0f} frame bytes/s through the link"
    )
    print(
        f"  READ_RO of {len(pairs)} pairs, fast model: {statistics.median(fast_read) * 1e3:8.2f} ms"
    )
    print(f"  fast model / Verilator speed : {read / statistics.median(fast_read):,.0f} x")
    on_board = len(pairs) * (SIM_DEVICE.gate_cycles + 6) / 12e6 + (request + answer) * 10 / 115200
    print(f"  the same READ_RO on a 12 MHz board at 115,200 baud: {on_board * 1e3:.1f} ms")
    cycles = after["cycles"] - before["cycles"]
    busy = after["busy_seconds"] - before["busy_seconds"]
    moved = after["bytes_in"] + after["bytes_out"] - before["bytes_in"] - before["bytes_out"]
    print(f"  Verilator with the bridge running ({ROUNDS} READ_RO, clock: {after['clock']}):")
    print(f"    simulated cycles            : {cycles:,.0f} ({cycles / ROUNDS:,.0f} per READ_RO)")
    print(f"    cycles/s, host's wall time  : {cycles / wall:,.0f}")
    print(f"    cycles/s, simulator busy    : {cycles / busy:,.0f}")
    print(f"    link, both directions       : {moved / wall:,.0f} bytes/s")
    print(f"  board start (model cached)   : {start_seconds:.1f} s")


if __name__ == "__main__":
    main()
