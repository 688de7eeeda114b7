"""The ``ropuf build`` subcommand: parse, call :func:`ropuf.boards.build.build_board`, print.

``cli/main.py`` registers it with :func:`add_build_command`; errors are
:class:`~ropuf.boards.build.BoardError`, caught there like every other command's.
"""

import argparse
import sys
from pathlib import Path

from ropuf.boards.profiles import PROFILES, VARIANTS

__all__ = ["add_build_command", "run_build"]


def run_build(args: argparse.Namespace) -> dict:
    """Build (and with ``--program`` load) a board's bitstream; returns the report."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.boards.build import build_board, find_profile, format_report, program

    profile = find_profile(args.board)
    variant = args.variant or profile.variant
    out = Path(args.out) if args.out else Path("build") / "boards" / f"{profile.name}-{variant}"
    if not args.json:
        print(
            f"ropuf build: {profile.name} ({profile.device}), {variant} build; "
            "a few minutes unless cached",
            file=sys.stderr,
            flush=True,
        )
    offsets = None
    if args.thresholds:
        # Imported on use, not at the top: start-up time of the command line.
        from ropuf.host.design_offsets import as_build_offsets, load_offsets

        values = load_offsets(args.thresholds, ros=profile.n_ro, gate_cycles=profile.gate_cycles)
        offsets = as_build_offsets(values, profile.n_ro)
    result = build_board(profile.name, variant, out=out, offsets=offsets)
    figures = {**result.report, "out": str(out), "cached": result.cached}
    if not args.json:
        print(format_report(result.report))
        source = "from the build cache" if result.cached else "built now"
        print(f"  output   {out} ({source}, {result.seconds:.1f} s)")
    if args.program:
        command = program(result)
        figures["programmed"] = " ".join(command)
        if not args.json:
            print(f"  loaded   {' '.join(command)}")
    return figures


def add_build_command(subparsers) -> argparse.ArgumentParser:
    """Register ``build`` on *subparsers* (from ``parser.add_subparsers()``); its handler is
    ``args.run``, which returns the report as a dict."""
    boards = ", ".join(sorted(PROFILES))
    parser = subparsers.add_parser(
        "build",
        help="build a board's bitstream with the YoWASP tools and report utilisation and fmax",
        description="Synthesise, place and route the device for a board with the YoWASP tools "
        "(no system install needed), check that it fits, meets timing and places every ring "
        "on its BELs, and print utilisation per block, fmax and build time. Builds are cached "
        f"while their inputs are unchanged. Boards: {boards}.",
    )
    parser.add_argument("--board", required=True, help=f"the board: {boards}")
    parser.add_argument(
        "--variant",
        help=f"{' or '.join(VARIANTS)} (default: the board's, enrollment for every board)",
    )
    parser.add_argument(
        "--out", help="copy the bitstream and reports here (default build/boards/BOARD-VARIANT)"
    )
    parser.add_argument(
        "--program",
        action="store_true",
        help="load the bitstream onto the board (iceprog or openFPGALoader must be installed)",
    )
    parser.add_argument(
        "--thresholds",
        metavar="FILE",
        help="the design's per-RO offsets ('ropuf thresholds', measured with this board's "
        "gate) into the key engine's ROM; enrol the build with the same file",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run_build)
    return parser
