"""Framed protocol: frames/s and payload bytes/s through the echo device in Verilator, and the
cycles each frame costs beyond its bits on the wire.

Usage::

    .venv/bin/python benchmarks/bench_framing.py [--divisor 4] [--frames 60]

Builds :class:`~ropuf.gateware.link.frame_echo.FrameEcho` at a small UART divisor for Verilator (the
same build as the test, so usually cached) and runs its cocotb testbench: a stream of requests
(three valid ones of random length, 0..256 bytes, to one malformed) sent back to back through
the serial pins, every response checked against :mod:`ropuf.spec.framing`; and valid requests
sent one at a time, each after the previous response. Prints the wall-clock rates of the
simulation, the rates the simulated line carries, and the cycles per frame beyond the wire.
"""

import argparse
import json
import tempfile
import time
from pathlib import Path
from statistics import mean

from ropuf.gateware.link.frame_echo import FrameEcho
from ropuf.sim import harness

CLOCK_HZ = 12e6


def run(divisor: int, frames: int) -> tuple[dict, dict, float]:
    started = time.perf_counter()
    build = harness.build(FrameEcho(divisor=divisor), f"frame_echo_d{divisor}")
    build_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        harness.run(
            build,
            "ropuf.sim.testbenches.frame_echo",
            env={
                "ROPUF_FRAME_DIVISOR": str(divisor),
                "ROPUF_FRAME_COUNT": str(frames),
                "ROPUF_RESULT": tmp,
            },
            seed=1,
        )
        stream = json.loads((Path(tmp) / "back_to_back.json").read_text())
        single = json.loads((Path(tmp) / "echo_one_at_a_time.json").read_text())
    return stream, single, build_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--divisor", type=int, default=4, help="UART clock cycles per bit")
    parser.add_argument("--frames", type=int, default=60, help="requests sent back to back")
    args = parser.parse_args()

    stream, single, build_seconds = run(args.divisor, args.frames)
    wall, cycles = stream["wall_seconds"], stream["cycles"]
    line_seconds = cycles / CLOCK_HZ
    bit_cycles = 10 * args.divisor
    wire_cycles = stream["request_bytes"] * bit_cycles

    print(f"FrameEcho in Verilator, UART divisor {args.divisor} (build {build_seconds:.1f} s)")
    print(
        f"  back to back: {stream['frames']} frames ({stream['valid_requests']} valid, "
        f"{stream['payload_bytes']:,} payload bytes; {stream['request_bytes']:,} bytes in, "
        f"{stream['response_bytes']:,} out), all checked"
    )
    print(f"    wall time              : {wall:.2f} s, {cycles / wall:,.0f} simulated cycles/s")
    print(f"    frames/s (wall)        : {stream['frames'] / wall:,.1f}")
    print(f"    payload bytes/s (wall) : {stream['payload_bytes'] / wall:,.0f}")
    baud = CLOCK_HZ / args.divisor
    print(
        f"    on the simulated line at {CLOCK_HZ / 1e6:.0f} MHz ({baud / 1e6:.0f} Mbaud): "
        f"{stream['frames'] / line_seconds:,.0f} frames/s, "
        f"{stream['payload_bytes'] / line_seconds:,.0f} payload bytes/s"
    )
    print(
        f"    cycles beyond the request bits: {cycles - wire_cycles:,} "
        f"({(cycles - wire_cycles) / bit_cycles:.1f} byte times: the last response)"
    )
    latency, overhead = single["latency_cycles"], single["overhead_cycles"]
    print(f"  one at a time: payloads of {single['lengths']} bytes")
    print(
        f"    request end -> response start : mean {mean(latency):.1f}, max {max(latency)} cycles"
    )
    print(
        f"    cycle overhead per frame       : mean {mean(overhead):.1f}, max {max(overhead)} "
        f"cycles beyond the bits on the wire (both directions)"
    )
    per_frame_us = max(overhead) / CLOCK_HZ * 1e6
    print(f"    at {CLOCK_HZ / 1e6:.0f} MHz that is {per_frame_us:.1f} us per frame at most")


if __name__ == "__main__":
    main()
