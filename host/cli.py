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


def _cmd_analyze(args: argparse.Namespace) -> dict:
    from pathlib import Path

    from ropuf.host.analysis import PUBLISHED_HOST2010, analyze
    from ropuf.host.dataset import DATA_ENV, dataset_dir_from_env, load_dataset

    folder = args.dataset or dataset_dir_from_env()
    if folder is None:
        raise ValueError(f"no data set given: pass --dataset DIR or set {DATA_ENV}")
    dataset = load_dataset(folder)
    result = analyze(dataset.freqs)
    figures = {"dataset": str(folder), **result.summary()}
    figures["published_host2010"] = PUBLISHED_HOST2010
    plots = {}
    if args.plots:
        from ropuf.host.plots import plot_frequency_map, plot_hd_histograms

        out = Path(args.plots)
        plots["hd_histograms"] = str(plot_hd_histograms(result, out / "hd_histograms.png"))
        plots["frequency_map"] = str(
            plot_frequency_map(
                dataset.means()[0],
                dataset.columns,
                out / "frequency_map.png",
                title=f"RO frequencies of {dataset.names[0]}",
            )
        )
        figures["plots"] = plots
    if not args.json:
        published = PUBLISHED_HOST2010
        print(f"ropuf analyze: {folder}")
        print(
            f"  {result.n_chips} chips x {result.n_ro} ROs x {result.n_samples} samples; "
            f"{result.n_bits} bits per chip (disjoint neighbour pairs)"
        )
        print(f"  {'figure':<22} {'this data':>10} {'HOST 2010 paper':>16}")
        print(f"  {'uniformity':<22} {result.uniformity:>10.2%} {'':>16}")
        print(
            f"  {'uniqueness (inter HD)':<22} {result.uniqueness:>10.2%} "
            f"{published['uniqueness']:>16.2%}"
        )
        print(f"  {'intra-chip HD':<22} {result.intra_hd:>10.2%} {published['intra_hd']:>16.2%}")
        print(f"  {'reliability':<22} {result.reliability:>10.2%}")
        print(f"  {'bit-aliasing spread':<22} {result.bit_aliasing_spread:>10.4f}")
        print(f"  {'min-entropy per bit':<22} {result.min_entropy:>10.4f}")
        for name, path in plots.items():
            print(f"  plot {name}: {path}")
    return figures


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

    analyze = commands.add_parser(
        "analyze",
        help="PUF metrics of measured RO data",
        description="Uniformity, uniqueness, intra-chip HD, bit-aliasing and min-entropy of a "
        "folder of RO measurements in the HOST 2010 format (one CSV per chip), with disjoint "
        "neighbour pairs; printed beside the published HOST 2010 figures.",
    )
    analyze.add_argument("--dataset", help="folder of chip CSV files (default: $ROPUF_HOST2010)")
    analyze.add_argument("--plots", help="write PNG plots into this folder")
    analyze.add_argument("--json", action="store_true", help="print the figures as JSON")
    analyze.set_defaults(run=_cmd_analyze)

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
