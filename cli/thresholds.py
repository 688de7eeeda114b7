"""``ropuf thresholds``: characterise a design from several devices and write its RO offsets.

Each device (an enrollment build, unlocked) has every RO of its array read *reads* times; the
mean count of every RO on every device goes into
:func:`ropuf.host.design_offsets.estimate_offsets` (each RO relative to its die's mean,
averaged over the devices). The file it writes is the design offsets a build of the design
holds (rounded per RO, :func:`ropuf.host.design_offsets.as_build_offsets`, into
:attr:`ropuf.spec.device_config.DeviceConfig.offsets`), and what ``ropuf enroll --thresholds
FILE`` takes for devices of that build. Devices are named by ``--port``
(one per board, read in turn) or, for the simulated design, ``--sim-dies N`` (fast model dies
from ``--first-seed``). Characterise with devices that will not be enrolled: each leaves 1/N of
its own response in the public offsets.
"""

import argparse

import numpy as np

from ropuf.spec.errors import InputError

from .keys import ProgressBar, add_progress_option

__all__ = ["add_thresholds_command", "cmd_thresholds"]


def _sources(args: argparse.Namespace) -> list:
    if bool(args.port) == bool(args.sim_dies):
        raise InputError("name the devices with --port (repeat it) or with --sim-dies N")
    if args.port:
        # Imported on use, not at the top: start-up time of the command line.
        from ropuf.host.enrollment import SerialSource

        return [SerialSource(port, baudrate=args.baud, timeout=args.timeout) for port in args.port]
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.sim.board import Condition
    from ropuf.sim.sources import FastModelSource

    return [
        FastModelSource(Condition(die_seed=args.first_seed + i, noise_seed=i + 1))
        for i in range(args.sim_dies)
    ]


def cmd_thresholds(args: argparse.Namespace) -> dict:
    """Read every device, estimate, write the file; the figures as a dict."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.design_offsets import estimate_offsets, save_offsets
    from ropuf.host.enrollment import check_enrollable, construction_of, read_counts

    sources = _sources(args)
    progress = ProgressBar("characterising", args.progress)
    means, build = [], None
    for done, source in enumerate(sources, 1):
        with source.open() as client:
            info = client.info()
            check_enrollable(info, construction_of(info, source.label), source.label)
            if build is not None and (info.gate_cycles, info.n_ro) != build:
                raise InputError(
                    f"{source.label} has {info.n_ro} ROs counting over {info.gate_cycles} "
                    f"cycles, the others {build[1]} over {build[0]}: characterise devices of "
                    "one build"
                )
            build = (info.gate_cycles, info.n_ro)
            gate = info.gate_cycles
            counts = read_counts(client, info.n_ro, args.reads)
            means.append(counts.mean(axis=0))
        progress(done, len(sources))
    offsets = estimate_offsets(np.array(means))
    save_offsets(args.out, offsets, gate_cycles=gate, devices=len(sources))
    figures = {
        "out": str(args.out),
        "devices": len(sources),
        "reads": args.reads,
        "gate_cycles": gate,
        "ros": len(offsets),
        "mean_abs_offset": round(float(np.mean(np.abs(offsets))), 2),
        "max_abs_offset": round(float(np.max(np.abs(offsets))), 2),
    }
    if not args.json:
        print(
            f"ropuf thresholds: {len(offsets)} RO offsets from {len(sources)} devices "
            f"({args.reads} reads each, {gate}-cycle gate) written to {args.out}"
        )
        print(
            f"  |offset| mean {figures['mean_abs_offset']} counts, "
            f"largest {figures['max_abs_offset']}"
        )
    return figures


def add_thresholds_command(commands) -> None:
    """Register ``ropuf thresholds`` with the command line's subparsers."""
    parser = commands.add_parser(
        "thresholds",
        help="characterise a design on several devices; write its RO offsets file",
        description=(
            "Read each device (an enrollment build, unlocked) over all its ROs, average each "
            "RO's count relative to its device's mean over the devices, and write the design "
            "offsets a build of the design holds (each rounded) and 'ropuf enroll --thresholds "
            "FILE' takes for its devices. Name the devices with --port "
            "(one per board, read in turn) or, for the simulated design, --sim-dies N. "
            "Characterise with devices that will not be enrolled: each leaves 1/N of its own "
            "response in the public offsets."
        ),
    )
    parser.add_argument("--port", action="append", help="a device's serial port or URL (repeat)")
    parser.add_argument("--sim-dies", type=int, default=0, help="simulated dies instead")
    parser.add_argument("--first-seed", type=int, default=2_000_000, help="first simulated die")
    parser.add_argument("--reads", type=int, default=25, help="reads per device (default 25)")
    parser.add_argument("--out", required=True, help="the offsets file to write (JSON)")
    parser.add_argument("--baud", type=int, default=115_200, help="baud rate (default 115200)")
    parser.add_argument("--timeout", type=float, default=5.0, help="answer timeout in seconds")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    add_progress_option(parser)
    parser.set_defaults(run=cmd_thresholds)
