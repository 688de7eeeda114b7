"""The ``ropuf`` command line: parses, calls the library, prints. A :class:`RopufError` is one
line on stderr and exit status 1; any other exception is a bug and keeps its traceback."""

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ropuf.spec.errors import InputError, RopufError

from .build import add_build_command
from .fleet import cmd_demo, cmd_fleet
from .identity import add_owner_ca_options, cmd_new_owner_ca, cmd_revoke, cmd_transfer, export_certs
from .keys import (
    CommandFailedError,
    ProgressBar,
    add_progress_option,
    add_target_options,
    cmd_attest,
    cmd_enroll,
    open_registry,
)
from .service import add_serve_command, add_token_commands
from .thresholds import add_thresholds_command

__all__ = ["main"]


def _cmd_sim_serve(args: argparse.Namespace) -> dict:
    import signal

    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.sim.board import Condition, serve, sim_config

    # Stopped with SIGTERM: unwind, so that the simulator child process is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    config = sim_config(args.board)  # an unknown board is one line naming the known ones
    condition = Condition(
        die_seed=args.die_seed,
        temperature=args.temperature,
        voltage=args.voltage,
        noise_seed=args.noise_seed,
        board=args.board,
    )
    if not args.json:
        print(
            f"ropuf sim serve: {args.board} ({config.n_ro} ROs), die {args.die_seed} at "
            f"{args.temperature} C; "
            f"listening on {'port ' + str(args.port) if args.port else 'a free port'} "
            "(Ctrl-C stops)",
            flush=True,
        )
    serve(condition, port=args.port, ready_file=args.ready_file)
    return {}


def _cmd_analyze(args: argparse.Namespace) -> dict:
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.analysis import PUBLISHED_HOST2010, analyze
    from ropuf.host.dataset import DATA_ENV, dataset_dir_from_env, load_dataset

    folder = args.dataset or dataset_dir_from_env()
    if folder is None:
        raise InputError(f"no data set given: pass --dataset DIR or set {DATA_ENV}")
    dataset = load_dataset(folder)
    result = analyze(dataset.freqs)
    figures = {"dataset": str(folder), **result.summary()}
    figures["published_host2010"] = PUBLISHED_HOST2010
    plots = {}
    if args.plots:
        # Imported on use, not at the top: start-up time of the command line.
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


def _client(args: argparse.Namespace):
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.client import DeviceClient

    return DeviceClient.open(args.port, baudrate=args.baud, timeout=args.timeout)


def _construction(number: int) -> str:
    """What INFO's construction byte names, in words."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.spec.code_params import CONSTRUCTIONS

    if number == 0:
        return "none (no key path)"
    code = CONSTRUCTIONS.get(number)
    if code is None:
        return f"{number} (unknown to this host: update ropuf)"
    return (
        f"{number}: BCH({code.n},{code.k},t={code.t}) over {code.selected_bits} rank pairs of "
        f"{code.ros} ROs"
    )


def _cmd_info(args: argparse.Namespace) -> dict:
    with _client(args) as client:
        info = client.info()
    figures = {
        "design_version": info.design_version,
        "mode": info.mode.name.lower(),
        "key_ready": info.key_ready,
        **info.figures(),
        "key_construction": _construction(info.construction),
        "build_id": info.build_id.hex(),
    }
    if not args.json:
        print(f"ropuf device at {args.port}")
        for key, value in figures.items():
            print(f"  {key:<15} {value}")
    return figures


def _cmd_lock(args: argparse.Namespace) -> dict:
    with _client(args) as client:
        client.lock()
        mode = client.info().mode.name.lower()
    if not args.json:
        print(f"ropuf device at {args.port}: locked (mode {mode}) until reconfigured")
    return {"mode": mode}


def _cmd_registry_list(args: argparse.Namespace) -> dict:
    with open_registry(args) as registry:
        label = str(registry.path)  # a PostgreSQL URL without its password
        devices = []
        for device_id in registry.devices():
            record = registry.record(device_id)  # verifies the owner signature
            devices.append(
                {
                    "device_id": device_id,
                    "enrolled_at": record.enrolled_at,
                    "owner": record.owner_public_key.hex()[:16],
                    "helper_bytes": len(record.helper_data),
                }
            )
    if not args.json:
        print(f"{label}: {len(devices)} device(s), every record's signature and key verified")
        for device in devices:
            print(
                f"  {device['device_id']:<24} enrolled {device['enrolled_at']}  "
                f"owner {device['owner']}  helper data {device['helper_bytes']} bytes"
            )
    return {"devices": devices}


def _cmd_registry_export(args: argparse.Namespace) -> dict:
    if (args.file is None) == (args.certs is None):
        raise InputError("give a JSON file to write, or --certs DIR (one of them)")
    if args.certs is not None:
        with open_registry(args) as registry:
            return export_certs(registry, args.certs, args.json)
    with open_registry(args) as registry:
        text = registry.export_json()
    Path(args.file).write_text(text)
    count = len(json.loads(text)["devices"])
    if not args.json:
        print(f"exported {count} device(s) to {args.file} (keys stay encrypted)")
    return {"exported": count, "file": args.file}


def _cmd_registry_import(args: argparse.Namespace) -> dict:
    try:
        text = Path(args.file).read_text()
    except OSError as exc:
        raise InputError(f"cannot read {args.file}: {exc.strerror}") from None
    with open_registry(args) as registry:
        label = str(registry.path)  # a PostgreSQL URL without its password
        added = registry.import_json(text)
    if not args.json:
        print(f"imported {len(added)} device(s) into {label}: {', '.join(added)}")
    return {"imported": added}


def _cmd_registry_new_master_key(args: argparse.Namespace) -> dict:
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.registry import generate_master_key

    path = Path(args.file)
    if path.exists():
        raise InputError(f"{path} exists: refusing to overwrite a master key")
    path.touch(mode=0o600)
    path.write_text(generate_master_key() + "\n")
    if not args.json:
        print(f"wrote a new master key to {path} (mode 600); keep it out of the registry's backups")
    return {"file": str(path)}


def _cmd_registry_new_owner_key(args: argparse.Namespace) -> dict:
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.owner_key import write_owner_key

    public = write_owner_key(args.file)
    if not args.json:
        print(
            f"wrote a new owner signing key to {args.file} (mode 600); public key "
            f"{public.hex()}; keep the file private: it signs enrollment records"
        )
    return {"file": args.file, "public_key": public.hex()}


def _json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _registry_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        default="ropuf-registry.db",
        help="SQLite file, or postgresql://USER@HOST:PORT/DB (default ropuf-registry.db)",
    )
    parser.add_argument(
        "--master-key", help="file with the verifier master key (default: $ROPUF_MASTER_KEY)"
    )
    _json_option(parser)


def _device_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        required=True,
        help="the device: a serial port (/dev/ttyUSB1) or socket://HOST:PORT of 'ropuf sim serve'",
    )
    parser.add_argument("--baud", type=int, default=115_200, help="baud rate (default 115200)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per answer")
    _json_option(parser)


def _file_argument(text: str):
    """An option group of one: the positional ``file`` argument with the help *text*."""
    return lambda parser: parser.add_argument("file", help=text)


def _subcommand(commands, name: str, run, *options, **texts) -> argparse.ArgumentParser:
    """Add the subcommand *name* (*texts*: its help and description) that runs *run*, with
    the option groups *options* (functions that add them, such as :func:`_device_options`)."""
    parser = commands.add_parser(name, **texts)
    for add in options:
        add(parser)
    parser.set_defaults(run=run)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ropuf",
        description="ropuf: an FPGA root of trust from ring-oscillator PUFs.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = _subcommand(
        commands,
        "demo",
        cmd_demo,
        help="run the end-to-end demo in simulation and print its figures",
        description="Loop bytes through the UART gateware in Verilator; serve the device in "
        "Verilator on a TCP port and read it with the host client; enrol and attest a few dies "
        "on Verilator boards and show another die failing with the first die's record; enrol "
        "and attest a simulated fleet at the rated corners on the fast model device. Prints "
        "the figures; a few minutes on 2 cores.",
    )
    demo.add_argument("--bytes", type=int, default=2000, help="bytes to loop (default 2000)")
    demo.add_argument(
        "--board-dies", type=int, default=2, help="dies enrolled on Verilator boards (default 2)"
    )
    demo.add_argument(
        "--board-reads", type=int, default=5, help="enrollment reads on the boards (default 5)"
    )
    demo.add_argument("--dies", type=int, default=20, help="fleet size (default 20)")
    demo.add_argument(
        "--reads", type=int, default=25, help="enrollment reads per fleet die (default 25)"
    )
    demo.add_argument("--plots", default=None, help="write the fleet's PNG plots into this folder")
    demo.add_argument("--divisor", type=int, default=8, help="clock cycles per bit (default 8)")
    demo.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    demo.add_argument("--json", action="store_true", help="print the figures as JSON")

    _subcommand(
        commands, "info", _cmd_info, _device_options,
        help="what a device reports: design version, mode, PUF geometry, build id",
        description="Ask a ropuf device for its INFO answer.",
    )  # fmt: skip
    _subcommand(
        commands, "lock", _cmd_lock, _device_options,
        help="turn a device's raw readout off until it is reconfigured",
        description="Send LOCK: the device refuses READ_RO until its FPGA is reconfigured.",
    )  # fmt: skip

    enroll = _subcommand(
        commands,
        "enroll",
        cmd_enroll,
        help="enrol a device: read it, derive helper data and keys, verify, register",
        description="Read every RO of the key construction --reads times (at each --at "
        "condition for a simulated die), pair the ROs by rank inside batches, derive the "
        "helper data and keys with an entropy account, check on the device that RECONSTRUCT "
        "and ATTEST work with them, and only then write the owner-signed record and the "
        "encrypted attestation key into the registry. Refuses a locked device and a "
        "deployment build.",
    )
    add_target_options(enroll, noise_seed=1)
    enroll.add_argument("--device-id", required=True, help="the device's name in the registry")
    enroll.add_argument(
        "--reads", type=int, default=25, help="reads per RO and condition (default 25)"
    )
    enroll.add_argument(
        "--owner-key",
        help="the owner's Ed25519 key file that signs the record (default: $ROPUF_OWNER_KEY; "
        "make one with 'ropuf registry new-owner-key')",
    )
    enroll.add_argument(
        "--lock", action="store_true", help="send LOCK after registering (raw readout off)"
    )
    enroll.add_argument(
        "--design-min-entropy",
        type=float,
        default=None,
        metavar="BITS",
        help="min-entropy per response bit from a fleet characterisation (bit-aliasing); "
        "caps the entropy account, which otherwise assumes no bias shared across dies",
    )
    enroll.add_argument(
        "--max-key-failure",
        type=float,
        default=1e-9,
        metavar="P",
        help="refuse a device whose predicted key failure per reconstruction, from its own "
        "measured margins at the worst condition read, is above P (default 1e-9)",
    )
    enroll.add_argument(
        "--thresholds",
        metavar="FILE",
        help="the design offsets (JSON, 'ropuf thresholds', from a characterisation of several "
        "devices) that the device's build holds: each RO's offset rounded, as the device "
        "subtracts them to remove bit-aliasing; they must be the build's own, or the "
        "verification on the device fails. Simulated dies use their build's own",
    )
    add_owner_ca_options(
        enroll,
        "certifies the device's identity (a build without one is enrolled without a certificate)",
    )
    add_progress_option(enroll)
    _registry_options(enroll)

    attest = _subcommand(
        commands,
        "attest",
        cmd_attest,
        help="attest an enrolled device: reconstruct its key and answer a fresh nonce",
        description="Load the device's helper data from its (signature-checked) registry "
        "record, LOAD_HELPER, RECONSTRUCT, and check its MAC over a fresh nonce against the "
        "registered key. With --server, a gateway: the challenge and helper data come from "
        "the verifier service ('ropuf serve') and the verdict is the service's; no registry "
        "here. Prints ATTESTED, or FAILED with the reason and exits 1.",
    )
    add_target_options(attest, noise_seed=None)
    attest.add_argument("--device-id", required=True, help="the enrolled device's name")
    attest.add_argument(
        "--server",
        metavar="URL",
        help="attest through the verifier service at URL (http://HOST:PORT of 'ropuf serve')",
    )
    attest.add_argument("--token", help="with --server: the service token (default: $ROPUF_TOKEN)")
    attest.add_argument(
        "--method",
        choices=("hmac", "signature"),
        default=None,
        help="signature: the device signs the nonce, checked against its certificate from the "
        "owner CA of --owner-ca-cert (the verifier holds no secret); hmac: the device's MAC "
        "under its registered key (the verifier holds the keys). Default: signature when it "
        "can be checked (a trusted owner CA certificate and a certificate for the device; "
        "with --server, when the service offers it), else hmac",
    )
    attest.add_argument(
        "--owner-ca-cert",
        metavar="FILE",
        help="for signature attestation: the owner CA certificate the verifier trusts "
        "(default: $ROPUF_OWNER_CA_CERT)",
    )
    attest.add_argument(
        "--certs",
        metavar="DIR",
        help="with --method signature: the evidence of 'ropuf registry export --certs DIR' "
        "instead of a registry (no master key; nonces kept in this process)",
    )
    _registry_options(attest)

    transfer = _subcommand(
        commands,
        "transfer",
        cmd_transfer,
        help="certify an enrolled device under a new owner's CA; revoke its old certificate",
        description="Load the device's helper data, RECONSTRUCT, read its public key "
        "(IDENTITY), have it sign a fresh certificate request, issue the new owner CA's "
        "certificate for the same key and store it; the previous certificate is revoked in "
        "the same transaction.",
    )
    add_target_options(transfer, noise_seed=None)
    transfer.add_argument("--device-id", required=True, help="the enrolled device's name")
    add_owner_ca_options(transfer, "certifies the device from now on (the new owner's)")
    _registry_options(transfer)

    fleet = _subcommand(
        commands,
        "fleet",
        cmd_fleet,
        help="enrol and attest a simulated fleet at the rated corners (fast model device)",
        description="Enrol --dies simulated dies at 25 C on the fast model device, then at 25 C "
        "and the rated corners (-20/85 C, supply -5/+5 %%) reconstruct and attest each "
        "--trials times; print key-reconstruction success per corner, uniqueness, uniformity "
        "and reliability, and write PNG plots.",
    )
    fleet.add_argument("--dies", type=int, default=20, help="fleet size (default 20)")
    fleet.add_argument("--first-seed", type=int, default=1000, help="first die seed (1000)")
    fleet.add_argument("--reads", type=int, default=25, help="enrollment reads (default 25)")
    fleet.add_argument(
        "--trials", type=int, default=2, help="attestations per die and corner (default 2)"
    )
    fleet.add_argument(
        "--char-reads",
        type=int,
        default=3,
        help="characterisation reads per die and corner (default 3)",
    )
    fleet.add_argument(
        "--plots", default="build/fleet", help="folder for the PNG plots (default build/fleet)"
    )
    fleet.add_argument(
        "--no-plots", dest="plots", action="store_const", const=None, help="write no plots"
    )
    fleet.add_argument(
        "--registry",
        default=None,
        help="also store the characterisation (uniqueness, reliability per corner) in this "
        "registry for the fleet page of 'ropuf serve' (SQLite file or postgresql://...)",
    )
    fleet.add_argument(
        "--master-key", help="with --registry: the verifier master key file ($ROPUF_MASTER_KEY)"
    )
    fleet.add_argument(
        "--owner-key",
        help="with --registry: the owner whose fleet page shows it ($ROPUF_OWNER_KEY)",
    )
    add_progress_option(fleet)
    fleet.add_argument("--json", action="store_true", help="print the figures as JSON")

    registry = commands.add_parser(
        "registry",
        help="the device registry: list, export, import, revoke, new master or owner key or "
        "owner CA",
    ).add_subparsers(dest="registry_command", required=True, metavar="REGISTRY_COMMAND")
    new_file = _file_argument("where to write it (must not exist)")
    _subcommand(
        registry, "list", _cmd_registry_list, _registry_options,
        help="enrolled devices (signatures and keys verified)",
    )  # fmt: skip
    export = _subcommand(
        registry, "export", _cmd_registry_export, _registry_options,
        help="write every record to a JSON file, or the certificates to a folder (--certs)",
    )  # fmt: skip
    export.add_argument("file", nargs="?", help="JSON file to write")
    export.add_argument(
        "--certs",
        metavar="DIR",
        help="write each device's PEM chain (its certificate, then the owner CA's), helper "
        "data, the owner CAs and revoked.json into DIR instead: what a verifier holding no "
        "secret needs ('ropuf attest --method signature --certs DIR')",
    )
    _subcommand(
        registry, "import", _cmd_registry_import, _file_argument("JSON file to read"),
        _registry_options, help="add the records of a JSON export",
    )  # fmt: skip
    _subcommand(
        registry, "new-master-key", _cmd_registry_new_master_key, new_file, _json_option,
        help="write a fresh master key file",
    )  # fmt: skip
    _subcommand(
        registry, "new-owner-key", _cmd_registry_new_owner_key, new_file, _json_option,
        help="write a fresh Ed25519 owner key file (signs enrollment records)",
    )  # fmt: skip
    new_ca = _subcommand(
        registry, "new-owner-ca", cmd_new_owner_ca, _json_option,
        help="write a fresh owner CA: its key (mode 600) and self-signed certificate",
        description="Make an owner CA (ECDSA P-256, X.509 CA certificate) that certifies "
        "devices' identities at enrollment. The key file is encrypted with the passphrase in "
        "$ROPUF_CA_PASSPHRASE when it is set, else plain (mode 600). Neither file is "
        "overwritten.",
    )  # fmt: skip
    new_ca.add_argument("key", help="the key file to write (must not exist)")
    new_ca.add_argument("cert", help="the certificate file to write (must not exist)")
    new_ca.add_argument("--name", required=True, help="the owner's name (certificate subject)")
    revoke = _subcommand(
        registry, "revoke", cmd_revoke, _registry_options,
        help="revoke a device and its certificate: it attests no more",
    )  # fmt: skip
    revoke.add_argument("--device-id", required=True, help="the device to revoke")
    add_token_commands(registry, _registry_options)
    add_serve_command(commands, _registry_options)

    analyze = _subcommand(
        commands,
        "analyze",
        _cmd_analyze,
        help="PUF metrics of measured RO data",
        description="Uniformity, uniqueness, intra-chip HD, bit-aliasing and min-entropy of a "
        "folder of RO measurements in the HOST 2010 format (one CSV per chip), with disjoint "
        "neighbour pairs; printed beside the published HOST 2010 figures.",
    )
    analyze.add_argument("--dataset", help="folder of chip CSV files (default: $ROPUF_HOST2010)")
    analyze.add_argument("--plots", help="write PNG plots into this folder")
    analyze.add_argument("--json", action="store_true", help="print the figures as JSON")

    sim = commands.add_parser("sim", help="simulated boards").add_subparsers(
        dest="sim_command", required=True, metavar="SIM_COMMAND"
    )
    serve = _subcommand(
        sim,
        "serve",
        _cmd_sim_serve,
        help="serve a simulated board on a TCP port",
        description="Run the device gateware in Verilator with its UART on a TCP port; reach "
        "it with the URL socket://localhost:PORT. Runs until stopped.",
    )
    serve.add_argument(
        "--board",
        default="ulx3s",
        help="which board's design: ulx3s (ECP5, the default) or icebreaker (iCE40UP5K)",
    )
    serve.add_argument("--die-seed", type=int, default=0, help="which virtual die (default 0)")
    serve.add_argument("--temperature", type=float, default=25.0, help="degrees C (default 25)")
    serve.add_argument("--voltage", type=float, default=None, help="core supply in V")
    serve.add_argument("--noise-seed", type=int, default=1, help="measurement noise seed")
    serve.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    serve.add_argument("--ready-file", default=None, help="write the URL here once listening")
    serve.add_argument("--json", action="store_true", help="no banner")

    add_thresholds_command(commands)
    add_build_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        figures = args.run(args)
    except KeyboardInterrupt:
        ProgressBar.end_line()
        return 130
    except CommandFailedError as failed:
        print(json.dumps(failed.figures, indent=2) if args.json else failed.line)
        return 1
    except RopufError as exc:
        # An error ropuf reports (bad input, a device that refused, a missing tool): one line.
        # Anything else is a bug and keeps its traceback.
        ProgressBar.end_line()
        print(f"ropuf {args.command}: error: {exc}", file=sys.stderr)
        return 1
    if getattr(args, "json", False) and figures:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
