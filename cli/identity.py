"""The identity commands of the ``ropuf`` command line: ``registry new-owner-ca``, ``registry
export --certs``, ``registry revoke``, ``transfer``, and the owner CA options of ``enroll`` and
``attest --method signature``. Thin: parse, call :mod:`ropuf.host.identity`,
:mod:`ropuf.host.device_identity`, :mod:`ropuf.host.signature_attestation`, print."""

import argparse
import os

from ropuf.spec.errors import InputError

__all__ = [
    "CA_PASSPHRASE_ENV",
    "add_owner_ca_options",
    "cmd_new_owner_ca",
    "cmd_revoke",
    "cmd_transfer",
    "export_certs",
    "load_owner_ca_of",
    "signature_verifier",
]

#: Environment variable holding the owner CA key's passphrase (unset: the key file is plain).
CA_PASSPHRASE_ENV = "ROPUF_CA_PASSPHRASE"


def _passphrase() -> str | None:
    value = os.environ.get(CA_PASSPHRASE_ENV)
    if value == "":
        raise InputError(
            f"${CA_PASSPHRASE_ENV} is set but empty: give a passphrase, or unset it for a "
            "plain key file"
        )
    return value


def load_owner_ca_of(args: argparse.Namespace):
    """The owner CA of ``--owner-ca-key`` and ``--owner-ca-cert`` (passphrase from
    ``$ROPUF_CA_PASSPHRASE``), None if neither is given."""
    key, cert = args.owner_ca_key, args.owner_ca_cert
    if key is None and cert is None:
        return None
    if key is None or cert is None:
        raise InputError(
            "give both --owner-ca-key and --owner-ca-cert (make them with "
            "'ropuf registry new-owner-ca')"
        )
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.identity import load_owner_ca

    return load_owner_ca(key, cert, _passphrase())


def add_owner_ca_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--owner-ca-key`` and ``--owner-ca-cert``: the owner CA that *what*."""
    parser.add_argument(
        "--owner-ca-key",
        metavar="FILE",
        help=f"the owner CA's key file that {what} (passphrase: ${CA_PASSPHRASE_ENV}; make one "
        "with 'ropuf registry new-owner-ca')",
    )
    parser.add_argument(
        "--owner-ca-cert", metavar="FILE", help="the owner CA's certificate file (PEM)"
    )


def cmd_new_owner_ca(args: argparse.Namespace) -> dict:
    """``ropuf registry new-owner-ca``: a fresh owner CA's key (mode 600) and certificate."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.identity import create_owner_ca, fingerprint, write_owner_ca

    passphrase = _passphrase()
    ca = create_owner_ca(args.name)
    write_owner_ca(ca, args.key, args.cert, passphrase)
    figures = {
        "key": args.key,
        "cert": args.cert,
        "name": ca.name,
        "fingerprint": fingerprint(ca.certificate).hex(),
        "encrypted": passphrase is not None,
        "not_after": ca.certificate.not_valid_after_utc.isoformat(),
    }
    if not args.json:
        protection = (
            f"encrypted with ${CA_PASSPHRASE_ENV}"
            if passphrase is not None
            else f"NOT encrypted (set ${CA_PASSPHRASE_ENV} to encrypt it)"
        )
        print(
            f"wrote owner CA {ca.name!r}: key {args.key} (mode 600, {protection}), certificate "
            f"{args.cert} (public: give it to verifiers); SHA-256 {figures['fingerprint']}"
        )
    return figures


def export_certs(registry, folder: str, json_output: bool) -> dict:
    """``ropuf registry export --certs DIR``."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.certificate_export import export_certificates

    written = export_certificates(registry, folder)
    if not json_output:
        print(
            f"exported the certificates of {len(written)} device(s) to {folder} (chains, helper "
            "data, owner CAs, revoked.json; no key of any kind)"
        )
    return {"certificates": written, "folder": folder}


def signature_verifier(args: argparse.Namespace, registry):
    """The :class:`~ropuf.host.signature_attestation.SignatureVerifier` of ``attest --method
    signature``: trusting ``--owner-ca-cert``, with the evidence of ``--certs DIR`` (nonces in
    memory) or of *registry*."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.certificate_export import CertificateDirectory
    from ropuf.host.identity import read_certificate_file
    from ropuf.host.signature_attestation import (
        MemoryChallenges,
        RegistryEvidence,
        SignatureVerifier,
    )

    if args.owner_ca_cert is None:
        raise InputError(
            "--method signature needs --owner-ca-cert: the owner CA certificate this verifier "
            "trusts (its file, not one taken from the registry or the export)"
        )
    ca = read_certificate_file(args.owner_ca_cert)
    if args.certs is not None:
        return SignatureVerifier(ca, CertificateDirectory(args.certs), MemoryChallenges())
    return SignatureVerifier(ca, RegistryEvidence(registry), registry)


def cmd_revoke(args: argparse.Namespace) -> dict:
    """``ropuf registry revoke``: the device and its certificate, from now on."""
    import time

    from .keys import open_registry

    with open_registry(args) as registry:
        registry.revoke(args.device_id, time.time())
        stored = registry.certificate(args.device_id)
    figures = {
        "device_id": args.device_id,
        "certificate_serial": None if stored is None else f"{stored.certificate.serial_number:x}",
    }
    if not args.json:
        what = "and its certificate " if stored is not None else ""
        print(f"revoked {args.device_id} {what}(no attestation passes from now on)")
    return figures


def cmd_transfer(args: argparse.Namespace) -> dict:
    """``ropuf transfer``: the new owner's CA certifies the device; the old certificate is
    revoked."""
    # Imported on use, not at the top: start-up time of the command line.
    from ropuf.host.device_identity import transfer_device
    from ropuf.host.identity import fingerprint

    from .keys import open_registry, target_source

    new_ca = load_owner_ca_of(args)
    if new_ca is None:
        raise InputError("give the new owner's CA: --owner-ca-key and --owner-ca-cert")
    source = target_source(args)
    with open_registry(args) as registry, source.open() as client:
        old = registry.certificate(args.device_id)
        certificate = transfer_device(registry, args.device_id, client, new_ca)
    figures = {
        "device_id": args.device_id,
        "owner_ca": new_ca.name,
        "serial": f"{certificate.serial_number:x}",
        "fingerprint": fingerprint(certificate).hex(),
        "revoked_serial": None if old is None else f"{old.certificate.serial_number:x}",
    }
    if not args.json:
        print(
            f"transferred {args.device_id} to owner CA {new_ca.name!r}: certificate serial "
            f"{figures['serial']}; the previous one (serial {figures['revoked_serial']}) is "
            "revoked"
        )
    return figures
