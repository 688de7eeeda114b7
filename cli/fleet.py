"""The simulation commands of the ``ropuf`` command line: ``fleet`` and ``demo``."""

import argparse
from pathlib import Path

from ropuf.spec.code_params import CHOSEN

from .keys import ProgressBar

__all__ = ["cmd_demo", "cmd_fleet", "print_fleet"]


def print_fleet(fleet, indent: str = "  ") -> None:
    """The figures of a :class:`~ropuf.sim.fleet.FleetResult` as a table."""
    print(
        f"{indent}enrolled            : {fleet.enrolled} of {fleet.dies} dies at 25 C "
        f"({fleet.reads} reads each; smallest entropy account "
        f"{fleet.min_entropy_account:.1f} bits)"
    )
    for seed, reason in fleet.refused:
        print(f"{indent}  refused die {seed}: {reason}")
    print(
        f"{indent}{'corner':<16}{'attested':>16}{'key-bit error':>15}{'reliability':>13}"
        f"  (code corrects {CHOSEN.t / CHOSEN.n:.1%} of key bits)"
    )
    for corner in fleet.corners:
        attested = f"{corner.attested}/{corner.attempts}"
        success = f"{corner.success:.2%}" if corner.attempts else "-"
        failures = ", ".join(f"{k}: {v}" for k, v in corner.failures.items())
        print(
            f"{indent}{corner.label:<16}{attested:>8} {success:>7}{corner.key_bit_error:>15.3%}"
            f"{corner.reliability:>13.2%}" + (f"  failed: {failures}" if failures else "")
        )
    print(f"{indent}uniqueness          : {fleet.uniqueness:.2%} (ideal 50 %)")
    print(f"{indent}uniformity          : {fleet.uniformity:.2%} (ideal 50 %)")
    print(f"{indent}bit-aliasing spread : {fleet.bit_aliasing_spread:.3f}")
    print(f"{indent}min-entropy per bit : {fleet.min_entropy:.3f} (bit-aliasing estimate)")
    print(
        f"{indent}key entropy (fleet) : {fleet.fleet_key_entropy:.1f} bits: key bits' "
        f"bit-aliasing min-entropy minus {CHOSEN.selected_bits - CHOSEN.k} disclosed; "
        f"fair bits would read {fleet.fair_key_entropy:.1f} with {fleet.dies} dies "
        "(the estimator's ceiling)"
    )
    print(
        f"{indent}majority guess      : {fleet.majority_guess:.1%} of a die's key bits "
        "guessed from the other dies at its pairs (50 % without shared bias)"
    )


def _fleet_plots(fleet, folder: Path) -> dict:
    """The fleet's PNG plots in *folder*; their paths by name."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.keygen_analysis import bch_failure
    from ropuf.host.plots import (
        plot_ber_vs_temperature,
        plot_corner_success,
        plot_fleet_hd,
        plot_key_failure_vs_ber,
    )

    hd = plot_fleet_hd(
        fleet.inter_hd,
        {c.label: c.intra_hd for c in fleet.corners},
        folder / "fleet_hd.png",
        title=f"{fleet.dies} simulated dies, {CHOSEN.ros // 2} neighbour-pair bits each",
    )
    success = plot_corner_success(
        [c.label for c in fleet.corners],
        [c.success if c.attempts else 0.0 for c in fleet.corners],
        [c.key_bit_error for c in fleet.corners],
        CHOSEN.t / CHOSEN.n,
        folder / "fleet_corners.png",
        title=f"{fleet.enrolled} dies enrolled at 25 C, attested at each corner",
    )
    ber = plot_ber_vs_temperature(
        [(c.temperature, c.voltage, 1 - c.reliability, c.key_bit_error) for c in fleet.corners],
        folder / "fleet_ber_temperature.png",
    )
    bers = [0.005 * i for i in range(1, 41)]
    failure = plot_key_failure_vs_ber(
        (bers, [bch_failure(CHOSEN, b) for b in bers]),
        [(1 - c.reliability, c.attempts - c.attested, c.attempts, c.label) for c in fleet.corners],
        folder / "fleet_key_failure.png",
    )
    return {
        "hd_histograms": str(hd),
        "corners": str(success),
        "ber_vs_temperature": str(ber),
        "key_failure_vs_ber": str(failure),
    }


def cmd_demo(args: argparse.Namespace) -> dict:
    """``ropuf demo``: the UART loopback, then the parts of :mod:`ropuf.sim.demo`, each
    printed as it finishes."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.sim.demo import key_path, link_check
    from ropuf.sim.fleet import run_fleet
    from ropuf.sim.harness import SimulationError
    from ropuf.sim.uart_demo import run_uart_demo

    say = (lambda *a, **k: None) if args.json else print
    say("ropuf demo 1/5: UART loopback in Verilator (cocotb drives rx, reads tx)", flush=True)
    uart = run_uart_demo(n_bytes=args.bytes, divisor=args.divisor, seed=args.seed)
    say(f"  bytes echoed and checked : {uart.n_bytes} (divisor {uart.divisor})")
    say(f"  throughput               : {uart.bytes_per_second:,.0f} bytes/s")
    say(f"  simulation speed         : {uart.cycles_per_second:,.0f} cycles/s")

    say(
        "ropuf demo 2/5: the device in Verilator on a TCP port, read by the host client",
        flush=True,
    )
    link = link_check()
    say(f"  device INFO              : {link.info}")
    say(f"  answers == fast model    : {link.verilator_matches_model}")
    say(f"  INFO round trip          : {link.info_round_trip_s * 1e3:,.0f} ms")
    say(
        f"  full response            : {link.response_bits} bits in "
        f"{link.response_read_s:.2f} s ({link.link_bytes_per_s:,.0f} link bytes/s)"
    )
    if not link.verilator_matches_model:
        raise SimulationError("the Verilator device and the fast model disagreed: a bug")

    say(
        f"ropuf demo 3/5: {args.board_dies} ECP5 dies and one iCEBreaker die enrolled like "
        f"real boards on Verilator boards ({args.board_reads} reads each, two boards at a "
        "time), attested by the verifier; then another die shows the first die's record",
        flush=True,
    )
    keys = key_path(board_dies=args.board_dies, reads=args.board_reads)
    for die in keys.board_dies:
        verdict = "ATTESTED" if die.attested else f"FAILED: {die.reason}"
        say(
            f"  {die.device_id:<13} ({die.board}) enrolled in {die.enrol_s:5.1f} s (entropy "
            f"account {die.entropy_bits:.1f} bits, verified on the device); {verdict}; "
            f"replayed nonce {'refused' if die.replay_refused else 'ACCEPTED (a bug!)'}"
        )
    verdict = "ATTESTED (a bug!)" if keys.impostor_attested else "FAILED"
    say(
        f"  die {keys.impostor_die_seed} with the record of {keys.impostor_record}: "
        f"{verdict}: {keys.impostor_reason}"
    )
    say(f"  key-path part            : {keys.seconds:.0f} s")
    signed = keys.signature
    if signed is not None:
        say(
            f"ropuf demo 4/5: {signed.device_id} enrolled with an owner CA, attested by signature "
            "by a verifier holding only the certificate export (no master key, no device key)",
            flush=True,
        )
        verdict = "ATTESTED" if signed.attested else f"FAILED: {signed.reason}"
        say(
            f"  certificate              : serial {signed.certificate_serial:x}, owner CA "
            f"{signed.owner_ca!r}"
        )
        say(
            f"  verifier's folder        : {', '.join(signed.export_files)} "
            f"({'no secret' if signed.export_secret_free else 'HOLDS A SECRET (a bug!)'})"
        )
        say(f"  {signed.device_id:<13} by signature: {verdict}")
        say(
            f"  SIGN on the board        : {signed.sign_s:.1f} s wall time; verification "
            f"(chain, revocation, ECDSA) {signed.verify_ms:.1f} ms"
        )
        moved = "refused" if signed.other_nonce_refused else "ACCEPTED (a bug!)"
        say(f"  its signature, new nonce : {moved}: {signed.other_nonce_reason}")
        verdict = "ATTESTED (a bug!)" if signed.impostor_attested else "FAILED"
        say(
            f"  die {signed.impostor_die_seed} with the record of {signed.device_id}: {verdict}: "
            f"{signed.impostor_reason}"
        )
        if signed.foreign_device_id is not None:
            verdict = "refused" if signed.foreign_refused else "ACCEPTED (a bug!)"
            say(
                f"  {signed.foreign_device_id}'s signature (its own key) for a nonce issued to "
                f"{signed.device_id}: {verdict}: {signed.foreign_reason}"
            )
    if not keys.ok:
        raise SimulationError(
            "the key path misbehaved on the Verilator boards: see the lines above"
        )

    say(
        f"ropuf demo 5/5: a fleet of {args.dies} dies on the fast model device, enrolled at "
        "25 C, attested at 5 corners",
        flush=True,
    )
    fleet = run_fleet(
        args.dies, reads=args.reads, progress=ProgressBar("  fleet", False if args.json else None)
    )
    plots = _fleet_plots(fleet, Path(args.plots)) if args.plots else {}
    if not args.json:
        print_fleet(fleet)
        for name, path in plots.items():
            print(f"  plot {name}: {path}")
    figures = {
        "uart_loopback": {
            "bytes": uart.n_bytes,
            "bytes_per_second": round(uart.bytes_per_second, 1),
            "cycles_per_second": round(uart.cycles_per_second),
        },
        "device": {
            **link.info,
            "response_bits": link.response_bits,
            "verilator_matches_fast_model": link.verilator_matches_model,
            "info_round_trip_s": round(link.info_round_trip_s, 3),
            "response_read_s": round(link.response_read_s, 3),
            "link_bytes_per_s": round(link.link_bytes_per_s, 1),
            "board_start_s": round(link.board_start_s, 1),
        },
        "key_path": {
            "board_reads": keys.board_reads,
            "dies": [
                {
                    "device_id": die.device_id,
                    "board": die.board,
                    "entropy_bits": round(die.entropy_bits, 1),
                    "enrol_s": round(die.enrol_s, 1),
                    "attested": die.attested,
                    "reason": die.reason,
                    "replay_refused": die.replay_refused,
                }
                for die in keys.board_dies
            ],
            "impostor": {
                "die_seed": keys.impostor_die_seed,
                "record_of": keys.impostor_record,
                "attested": keys.impostor_attested,
                "reason": keys.impostor_reason,
            },
            "seconds": round(keys.seconds, 1),
        },
        "signature": None
        if signed is None
        else {
            "device_id": signed.device_id,
            "owner_ca": signed.owner_ca,
            "certificate_serial": f"{signed.certificate_serial:x}",
            "export_files": signed.export_files,
            "export_secret_free": signed.export_secret_free,
            "attested": signed.attested,
            "reason": signed.reason,
            "sign_s": round(signed.sign_s, 2),
            "verify_ms": round(signed.verify_ms, 2),
            "other_nonce_refused": signed.other_nonce_refused,
            "other_nonce_reason": signed.other_nonce_reason,
            "impostor": {
                "die_seed": signed.impostor_die_seed,
                "attested": signed.impostor_attested,
                "reason": signed.impostor_reason,
            },
            "foreign_signature": {
                "device_id": signed.foreign_device_id,
                "refused": signed.foreign_refused,
                "reason": signed.foreign_reason,
            },
        },
        "fleet": fleet.summary(),
    }
    if plots:
        figures["plots"] = plots
    return figures


def _store_characterisation(fleet, args: argparse.Namespace) -> str:
    """Store the fleet's characterisation in ``--registry`` for the fleet page of
    ``--owner-key``'s owner; returns that owner (public key, hex)."""
    # Imported on use, not at the top: start-up time of the command line.
    import time

    from ropuf.host.owner_key import load_owner_key
    from ropuf.host.service.fleet_page import characterisation_summary

    from .keys import open_registry

    owner = load_owner_key(args.owner_key).public_key().public_bytes_raw().hex()
    summary = characterisation_summary(
        fleet.inter_hd,
        [
            (c.label, c.intra_hd, c.success if c.attempts else 0.0, c.key_bit_error)
            for c in fleet.corners
        ],
        CHOSEN.t / CHOSEN.n,
        title=f"{fleet.dies} simulated dies (ropuf fleet), enrolled at 25 C",
    )
    with open_registry(args) as registry:
        registry.add_characterisation(owner, time.time(), summary)
    return owner


def cmd_fleet(args: argparse.Namespace) -> dict:
    """``ropuf fleet``: :func:`ropuf.sim.fleet.run_fleet`, its table and plots."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.sim.fleet import run_fleet

    if not args.json:
        print(
            f"ropuf fleet: {args.dies} simulated dies (seeds {args.first_seed}.."
            f"{args.first_seed + args.dies - 1}) on the fast model device, enrolled at 25 C, "
            f"attested {args.trials} times at each of 5 corners",
            flush=True,
        )
    fleet = run_fleet(
        args.dies,
        reads=args.reads,
        trials=args.trials,
        char_reads=args.char_reads,
        first_seed=args.first_seed,
        progress=ProgressBar("  fleet", args.progress),
    )
    figures = fleet.summary()
    if args.plots:
        figures["plots"] = _fleet_plots(fleet, Path(args.plots))
    if args.registry:
        figures["stored_for_owner"] = _store_characterisation(fleet, args)
    if not args.json:
        print_fleet(fleet)
        for name, path in figures.get("plots", {}).items():
            print(f"  plot {name}: {path}")
        print(
            f"  time                : {fleet.seconds:.0f} s "
            f"({fleet.enrol_seconds:.2f} s per enrollment)"
        )
    return figures
