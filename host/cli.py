"""The ``ropuf`` command line: parses, calls the library, prints. Errors exit non-zero."""

import argparse
import json
import logging
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _cmd_demo(args: argparse.Namespace) -> dict:
    from ropuf.sim.uart_demo import run_uart_demo

    result = run_uart_demo(n_bytes=args.bytes, divisor=args.divisor, seed=args.seed)
    figures = {
        "bytes": result.n_bytes,
        "divisor": result.divisor,
        "simulated_cycles": result.cycles,
        "wall_seconds": round(result.wall_seconds, 3),
        "bytes_per_second": round(result.bytes_per_second, 1),
        "cycles_per_second": round(result.cycles_per_second),
        "build": "reused from cache" if result.build_reused else "built now",
        "build_dir": str(result.build_dir),
    }
    if not args.json:
        print("ropuf demo: UART loopback in Verilator (cocotb drives the rx pin, reads tx)")
        print(f"  bytes echoed and checked : {result.n_bytes} (divisor {result.divisor})")
        print(f"  simulated clock cycles   : {result.cycles}")
        print(f"  wall time                : {result.wall_seconds:.3f} s")
        print(f"  throughput               : {result.bytes_per_second:,.0f} bytes/s")
        print(f"  simulation speed         : {result.cycles_per_second:,.0f} cycles/s")
        print(f"  Verilator model          : {figures['build']} ({result.build_dir})")
    return figures


def _cmd_sim_serve(args: argparse.Namespace) -> dict:
    from ropuf.sim.board import Condition, serve

    condition = Condition(
        die_seed=args.die_seed,
        temperature=args.temperature,
        voltage=args.voltage,
        noise_seed=args.noise_seed,
    )
    if not args.json:
        print(
            f"ropuf sim serve: die {args.die_seed} at {args.temperature} C; "
            f"listening on {'port ' + str(args.port) if args.port else 'a free port'} "
            "(Ctrl-C stops)",
            flush=True,
        )
    serve(condition, port=args.port, ready_file=args.ready_file)
    return {}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ropuf",
        description="ropuf: an FPGA root of trust from ring-oscillator PUFs.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the end-to-end demo in simulation and print its figures",
        description="Loop random bytes through the UART gateware in Verilator and print "
        "throughput and simulation speed.",
    )
    demo.add_argument("--bytes", type=int, default=2000, help="bytes to loop (default 2000)")
    demo.add_argument("--divisor", type=int, default=8, help="clock cycles per bit (default 8)")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.add_argument("--json", action="store_true", help="print the figures as JSON")
    demo.set_defaults(run=_cmd_demo)

    sim = commands.add_parser("sim", help="simulated boards").add_subparsers(
        dest="sim_command", required=True, metavar="SIM_COMMAND"
    )
    serve = sim.add_parser(
        "serve",
        help="serve a simulated board on a TCP port",
        description="Run the device gateware in Verilator with its UART on a TCP port; reach "
        "it with the URL socket://localhost:PORT. Runs until stopped.",
    )
    serve.add_argument("--die-seed", type=int, default=0, help="which virtual die (default 0)")
    serve.add_argument("--temperature", type=float, default=25.0, help="degrees C (default 25)")
    serve.add_argument("--voltage", type=float, default=None, help="core supply in V")
    serve.add_argument("--noise-seed", type=int, default=1, help="measurement noise seed")
    serve.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    serve.add_argument("--ready-file", default=None, help="write the URL here once listening")
    serve.add_argument("--json", action="store_true", help="no banner")
    serve.set_defaults(run=_cmd_sim_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from ropuf.sim.harness import HarnessError, SimulationError
    from ropuf.sim.toolchain import ToolchainError

    try:
        figures = args.run(args)
    except KeyboardInterrupt:
        return 130
    except (ToolchainError, HarnessError, SimulationError, ValueError) as exc:
        print(f"ropuf {args.command}: error: {exc}", file=sys.stderr)
        return 1
    if getattr(args, "json", False) and figures:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
