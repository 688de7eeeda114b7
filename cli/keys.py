"""The key commands of the ``ropuf`` command line: ``enroll`` and ``attest``, and what the
longer commands share (the negative-verdict exit, the progress bar, the device options).

Thin, like the rest of the command line: parse, call :mod:`ropuf.host.enrollment` and
:class:`~ropuf.host.attestation.Verifier`, print.
"""

import argparse
import os
import sys
from collections.abc import Sequence

from ropuf.spec.errors import InputError, RopufError

__all__ = [
    "CommandFailedError",
    "ProgressBar",
    "add_progress_option",
    "add_target_options",
    "cmd_attest",
    "cmd_enroll",
    "open_registry",
    "target_source",
]


def open_registry(args: argparse.Namespace):
    """The registry of ``--registry`` under the master key of ``--master-key`` (or the
    environment)."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.registry import Registry, load_master_key

    return Registry(args.registry, load_master_key(args.master_key))


class CommandFailedError(RopufError):
    """A command ran but its verdict is negative: print *line* (or the figures with --json)
    and exit 1."""

    def __init__(self, line: str, figures: dict):
        super().__init__(line)
        self.line = line
        self.figures = figures


class ProgressBar:
    """``progress(done, total)`` drawn by :mod:`tqdm` on stderr (only when stderr is a terminal,
    unless forced): the library reports, the command line draws."""

    #: The bar drawn and not closed yet (an error message must start on a fresh line).
    _open: "ProgressBar | None" = None

    def __init__(self, label: str, enabled: bool | None):
        self.label = label
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar = None

    @classmethod
    def end_line(cls) -> None:
        """Close a bar that is still open, so that what follows starts a line."""
        if cls._open is not None:
            cls._open.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if ProgressBar._open is self:
            ProgressBar._open = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            # Imported on use, not at the top: start-up time of the command line.
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=self.label, file=sys.stderr, dynamic_ncols=True)
            ProgressBar._open = self
        self._bar.total = total
        self._bar.update(done - self._bar.n)
        if done >= total:
            self.close()


def _points(values: Sequence[str]) -> list[tuple[float, float | None]]:
    """``--at`` values ``T`` or ``T,V`` as (temperature, voltage or None)."""
    points = []
    for value in values:
        parts = value.split(",")
        try:
            if len(parts) > 2:
                raise ValueError
            points.append((float(parts[0]), float(parts[1]) if len(parts) == 2 else None))
        except ValueError:
            raise InputError(
                f"--at takes TEMPERATURE or TEMPERATURE,VOLTAGE (e.g. 85,1.14), not {value!r}"
            ) from None
    return points


def _timeout(args: argparse.Namespace) -> float:
    """Seconds per answer: as given, else 5 for a serial port and 120 for a simulated board
    (``socket://``), whose RECONSTRUCT takes seconds."""
    if args.timeout is not None:
        return args.timeout
    return 120.0 if str(getattr(args, "port", "") or "").startswith("socket://") else 5.0


def _sources(args: argparse.Namespace, points: list[tuple[float, float | None]]) -> list:
    """Where the device is: its port (one condition) or a simulated die at *points*."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.enrollment import SerialSource

    if args.port:
        if args.at:
            raise InputError("--at sets a simulated die's condition: use it with --sim-die")
        return [SerialSource(args.port, baudrate=args.baud, timeout=_timeout(args))]
    import secrets

    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.sim.sources import simulated_sources

    noise_seed = args.noise_seed if args.noise_seed is not None else secrets.randbelow(2**31) + 1
    return simulated_sources(args.sim_die, points, model=args.model, noise_seed=noise_seed)


def target_source(args: argparse.Namespace):
    """The one source of a command that reaches the device at one condition (``--at`` once)."""
    points = _points(args.at or ["25"])
    if len(points) > 1:
        raise InputError(f"{args.command} takes one --at condition")
    (source,) = _sources(args, points)
    return source


def _simulated_board_offsets(source) -> tuple[int, ...] | None:
    """The design offsets of a simulated board's build when *source* is one (``ropuf sim
    serve``: its INFO build id is a simulated board's), else None. A real board's build holds
    the offsets of the file it was characterised with; pass that file (--thresholds)."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.sim.board import SIM_BOARDS

    with source.open() as client:
        build_id = client.info().build_id
    for config in SIM_BOARDS.values():
        if config.build_id == build_id:
            return config.offsets
    return None


def cmd_enroll(args: argparse.Namespace) -> dict:
    """``ropuf enroll``: :func:`ropuf.host.enrollment.enroll_device`, then its report."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.enrollment import enroll_device
    from ropuf.host.owner_key import load_owner_key

    from .identity import load_owner_ca_of

    owner = load_owner_key(args.owner_key)
    owner_ca = load_owner_ca_of(args)  # a bad CA file or passphrase fails before any reading
    sources = _sources(args, _points(args.at or ["25"]))
    thresholds = args.thresholds
    if thresholds is None and args.sim_die is not None:
        # The design offsets the simulated board's build holds (the simulated design,
        # characterised), so that enrollment takes the bits as the device does.
        thresholds = sources[0].condition.config.offsets
    elif thresholds is None:
        thresholds = _simulated_board_offsets(sources[0])
    with open_registry(args) as registry:
        report = enroll_device(
            args.device_id,
            sources,
            registry,
            owner,
            reads=args.reads,
            design_min_entropy=args.design_min_entropy,
            thresholds=thresholds,
            lock=args.lock,
            progress=ProgressBar(f"enrolling {args.device_id}", args.progress),
            max_key_failure=args.max_key_failure,
            owner_ca=owner_ca,
        )
    account = report.account
    figures = {
        "device_id": report.device_id,
        "registry": str(registry.path),
        "conditions": list(report.conditions),
        "reads_per_condition": report.reads,
        "ros": report.ros,
        "pairs": report.pairs,
        "helper_bytes": report.helper_bytes,
        "bias": round(account.bias, 4),
        "entropy_bits": round(account.remaining, 2),
        "selected_entropy_bits": round(account.selected_entropy, 2),
        "disclosed_bits": account.disclosed,
        "predicted_bit_error": account.predicted_bit_error,
        "predicted_key_failure": report.predicted_key_failure,
        "verified_on_device": True,
        "locked": report.locked,
        "seconds": round(report.seconds, 2),
        "identity": report.identity,
        "certificate_serial": None
        if report.certificate is None
        else f"{report.certificate.serial_number:x}",
    }
    if not args.json:
        print(f"ropuf enroll: {report.device_id} enrolled in {figures['registry']}")
        for label in report.conditions:
            print(f"  read at              : {label} ({report.reads} reads of every RO)")
        print(f"  response bias        : {account.bias:.1%} ones among the response bits")
        print(
            f"  entropy account      : {account.remaining:.1f} bits (response "
            f"{account.selected_entropy:.1f}, code offset discloses {account.disclosed})"
        )
        print(f"  predicted bit error  : {account.predicted_bit_error:.2g} at enrollment")
        print(
            f"  predicted key failure: {report.predicted_key_failure:.1e} per reconstruction "
            "(worst condition read)"
        )
        print(
            f"  helper data          : {report.helper_bytes} bytes ({report.pairs} rank pairs "
            f"of {report.ros} ROs)"
        )
        print("  verified on device   : RECONSTRUCT OK, ATTEST matched the registered key")
        if report.certificate is not None:
            print(
                f"  certificate          : serial {figures['certificate_serial']} from owner CA "
                f"{owner_ca.name!r} (device key from IDENTITY, request signed by the device)"
            )
        elif report.identity is False:
            print(
                "  certificate          : none, the build has no identity (IDENTITY unknown); "
                "attest it with --method hmac"
            )
        if report.locked:
            print("  locked               : raw readout off until the FPGA is reconfigured")
        print(f"  time                 : {report.seconds:.1f} s")
    return figures


#: The owner CA certificate ``ropuf attest`` trusts when ``--owner-ca-cert`` is not given.
OWNER_CA_CERT_ENV = "ROPUF_OWNER_CA_CERT"


def _default_method(args: argparse.Namespace, registry) -> str:
    """``attest`` without ``--method``: signature when it can be checked here (a trusted owner
    CA certificate is configured and the registry holds a live certificate for the device),
    else hmac; the choice is said on standard error."""
    stored = registry.certificate(args.device_id)
    if args.owner_ca_cert is not None and stored is not None and stored.revoked_at is None:
        return "signature"
    why = (
        "no trusted owner CA certificate (--owner-ca-cert or $" + OWNER_CA_CERT_ENV + ")"
        if args.owner_ca_cert is None
        else "the registry holds no live certificate for it"
    )
    print(f"attesting {args.device_id} by HMAC: {why}", file=sys.stderr)
    return "hmac"


def cmd_attest(args: argparse.Namespace) -> dict:
    """``ropuf attest``: :meth:`Verifier.attest_enrolled
    <ropuf.host.attestation.Verifier.attest_enrolled>`, or with ``--server`` the service's
    verdict (:func:`ropuf.host.service.gateway.attest_through`); a failure is a negative
    verdict."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.attestation import Verifier

    from .identity import signature_verifier

    if args.server and (args.owner_ca_cert is not None or args.certs is not None):
        raise InputError(
            "with --server the service checks the signature against the owner CAs it trusts: "
            "drop --owner-ca-cert and --certs"
        )
    if args.certs is not None and args.method == "hmac":
        raise InputError("--certs is the evidence of signature attestation: drop --method hmac")
    if args.owner_ca_cert is None and not args.server:
        args.owner_ca_cert = os.environ.get(OWNER_CA_CERT_ENV) or None
    source = target_source(args)
    if args.server:
        # Imported on use, not at the top: start-up time of the command line.
        from ropuf.host.service.gateway import attest_through, service_client, token_from_env

        with (
            service_client(args.server, token_from_env(args.token)) as http,
            source.open() as client,
        ):
            # No --method: signature if the service offers it for this device (its challenge
            # says so), else hmac.
            result = attest_through(http, args.device_id, client, method=args.method)
        method = result.method
    elif args.certs is not None:
        method = "signature"
        verifier = signature_verifier(args, None)  # no registry, no master key
        with source.open() as client:
            result = verifier.attest_enrolled(args.device_id, client)
    else:
        with open_registry(args) as registry, source.open() as client:
            method = args.method or _default_method(args, registry)
            if method == "signature":
                verifier = signature_verifier(args, registry)
            else:
                verifier = Verifier(registry)
            result = verifier.attest_enrolled(args.device_id, client)
    signature = method == "signature"
    figures = {
        "device_id": args.device_id,
        "device": source.label,
        "ok": result.ok,
        "reason": result.reason,
        "method": method,
    }
    if not result.ok:
        raise CommandFailedError(
            f"FAILED {args.device_id} at {source.label}: {result.reason}", figures
        )
    if args.server:
        figures["server"] = args.server
    if not args.json:
        verdict = f" (verdict of {args.server})" if args.server else ""
        how = (
            "signed a fresh nonce under its owner-certified key"
            if signature
            else "answered a fresh nonce"
        )
        print(
            f"ATTESTED {args.device_id} at {source.label}: it reconstructed its enrolled key "
            f"and {how}{verdict}"
        )
    return figures


def add_target_options(parser: argparse.ArgumentParser, *, noise_seed: int | None) -> None:
    """Where the device is: a board's port, or a simulated die (fast model or Verilator)."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--port",
        help="the device: a serial port (/dev/ttyUSB1) or socket://HOST:PORT of 'ropuf sim serve'",
    )
    where.add_argument(
        "--sim-die",
        type=int,
        metavar="SEED",
        help="a simulated die instead of a board, loaded at each --at condition",
    )
    parser.add_argument(
        "--model",
        choices=("fast", "verilator"),
        default="fast",
        help="with --sim-die: the fast model device (default) or the Verilator device",
    )
    parser.add_argument(
        "--at",
        action="append",
        metavar="T[,V]",
        help="with --sim-die: temperature in C and optional supply in V (default 25, nominal; "
        "write a negative one as --at=-20,1.14)",
    )
    parser.add_argument(
        "--noise-seed",
        type=int,
        default=noise_seed,
        help="with --sim-die: measurement noise seed "
        + (f"(default {noise_seed})" if noise_seed is not None else "(default: random)"),
    )
    parser.add_argument("--baud", type=int, default=115_200, help="baud rate (default 115200)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per answer (default 5; 120 for a socket:// simulated board)",
    )


def add_progress_option(parser: argparse.ArgumentParser) -> None:
    """``--progress/--no-progress`` for :class:`ProgressBar`."""
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw a progress bar on stderr (default: when stderr is a terminal)",
    )
