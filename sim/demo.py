"""The end-to-end demo (``ropuf demo``, ``make demo``): a simulated device over its UART, and a
small simulated fleet characterised through the same client.

1. A Verilator device (die 1) is served on a TCP port; the host client asks INFO and reads the
   whole RO response through the simulated UART, and checks each answer against the fast model
   device for the same die, condition and noise seed (bit for bit).
2. A fleet of dies is read through the fast model device at 25 C and at the rated corners, and
   characterised with the same metric code as real data.
"""

import time
from dataclasses import dataclass

import numpy as np

from ropuf.host.analysis import analyze
from ropuf.host.client import DeviceClient
from ropuf.host.fast_device import FastDevice
from ropuf.spec.framing import frame_size
from ropuf.spec.ro_pairs import neighbour_pairs

from .board import SIM_DEVICE, Condition, SimulatedBoard, device_model

__all__ = ["CORNERS", "DemoResult", "run_demo"]

#: Operating points of the fleet run: nominal, then the rated corners.
CORNERS = ((25.0, 1.2), (-20.0, 1.14), (-20.0, 1.26), (85.0, 1.14), (85.0, 1.26))


@dataclass(frozen=True)
class DemoResult:
    """Figures of one demo run (fractions, seconds, bytes per second)."""

    info: dict
    response_bits: int
    verilator_matches_model: bool
    info_round_trip_s: float
    response_read_s: float
    link_bytes_per_s: float
    board_start_s: float
    fleet_dies: int
    fleet_reads: int
    uniqueness: float
    uniformity: float
    intra_hd: dict[str, float]


def _response(counts) -> list[int]:
    return [int(a > b) for a, b, *_ in counts]


def run_demo(*, dies: int = 20, reads: int = 5, die_seed: int = 1) -> DemoResult:
    """Run both parts and return the figures (see the module docstring)."""
    pairs = neighbour_pairs(SIM_DEVICE.n_ro)
    condition = Condition(die_seed=die_seed, noise_seed=7)
    started = time.monotonic()
    with SimulatedBoard(condition) as board, DeviceClient.open(board.url, timeout=60) as device:
        board_start = time.monotonic() - started
        fast = DeviceClient(FastDevice(device_model(condition)))
        t = time.monotonic()
        info = device.info()
        info_round_trip = time.monotonic() - t
        matches = info == fast.info()
        t = time.monotonic()
        counts = device.read_ro(pairs)
        read_time = time.monotonic() - t
        matches &= counts == fast.read_ro(pairs)
    # Bytes on the wire for the read: requests and answers, framed (COBS adds about 1/254).
    requests = [pairs[i : i + 32] for i in range(0, len(pairs), 32)]
    wire = sum(frame_size(4 * len(r)) + frame_size(7 * len(r)) + 4 for r in requests)

    measured = np.empty((len(CORNERS), dies, SIM_DEVICE.n_ro // 2, reads))
    for d in range(dies):
        for c, (temperature, voltage) in enumerate(CORNERS):
            model = device_model(Condition(die_seed=100 + d, temperature=temperature,
                                           voltage=voltage, noise_seed=d + 1))  # fmt: skip
            client = DeviceClient(FastDevice(model))
            for r in range(reads):
                counts_dr = client.read_ro(pairs)
                measured[c, d, :, r] = [a - b for a, b, *_ in counts_dr]

    # Differences against zero: analyze() compares pairs, so give it (difference, 0) columns.
    def as_pairs(diffs):
        stacked = np.zeros((diffs.shape[0], 2 * diffs.shape[1], diffs.shape[2]))
        stacked[:, 0::2, :] = diffs
        return stacked

    nominal = analyze(as_pairs(measured[0]))
    reference = measured[0].mean(axis=2) > 0  # (dies, bits), enrolled at 25 C
    intra = {}
    for c, (temperature, voltage) in enumerate(CORNERS):
        bits = measured[c] > 0  # (dies, bits, reads)
        intra[f"{temperature:g} C, {voltage:g} V"] = float(np.mean(bits != reference[:, :, None]))
    return DemoResult(
        info={
            "mode": info.mode.name.lower(),
            "n_ro": info.n_ro,
            "gate_cycles": info.gate_cycles,
            "count_width": info.count_width,
            "build_id": info.build_id.hex(),
        },
        response_bits=len(counts),
        verilator_matches_model=matches,
        info_round_trip_s=info_round_trip,
        response_read_s=read_time,
        link_bytes_per_s=wire / read_time,
        board_start_s=board_start,
        fleet_dies=dies,
        fleet_reads=reads,
        uniqueness=nominal.uniqueness,
        uniformity=nominal.uniformity,
        intra_hd=intra,
    )
