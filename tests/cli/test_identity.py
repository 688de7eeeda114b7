"""``ropuf registry new-owner-ca``, ``enroll --owner-ca-key/--owner-ca-cert``, ``registry export
--certs`` (``openssl verify`` accepts its chains), ``attest --method signature`` (from a
registry, and from an export with no master key), ``registry revoke`` and ``transfer`` on the
fast model device."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ropuf.cli.main import main

PASSPHRASE = "correct horse"


@pytest.fixture
def fleet(tmp_path, monkeypatch):
    """Master and owner keys, an owner CA with a passphrase, and die 7 enrolled with it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROPUF_CA_PASSPHRASE", PASSPHRASE)
    assert main(["registry", "new-master-key", "master.key"]) == 0
    assert main(["registry", "new-owner-key", "owner.pem"]) == 0
    assert main(["registry", "new-owner-ca", "ca.key", "ca.pem", "--name", "Acme fleet"]) == 0
    registry = ["--registry", "r.db", "--master-key", "master.key"]
    code = main(
        [
            "enroll", "--sim-die", "7", "--device-id", "die-7", "--reads", "3",
            "--owner-key", "owner.pem", "--owner-ca-key", "ca.key", "--owner-ca-cert", "ca.pem",
            *registry, "--json",
        ]
    )  # fmt: skip
    assert code == 0
    return registry


def attest(*options):
    return main(["attest", "--sim-die", "7", "--device-id", "die-7", "--json", *options])


def test_new_owner_ca_files(fleet, capsys):
    assert oct(os.stat("ca.key").st_mode & 0o777) == "0o600"
    assert b"ENCRYPTED PRIVATE KEY" in Path("ca.key").read_bytes()
    assert main(["registry", "new-owner-ca", "ca.key", "x.pem", "--name", "again"]) == 1
    assert "exists: refusing to overwrite" in capsys.readouterr().err


def test_new_owner_ca_refuses_an_empty_passphrase(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROPUF_CA_PASSPHRASE", "")
    assert main(["registry", "new-owner-ca", "k", "c", "--name", "n"]) == 1
    assert "ROPUF_CA_PASSPHRASE is set but empty" in capsys.readouterr().err
    assert not (tmp_path / "k").exists()
    monkeypatch.delenv("ROPUF_CA_PASSPHRASE")
    assert main(["registry", "new-owner-ca", "k", "c", "--name", "n", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["encrypted"] is False


def test_enroll_reports_the_certificate(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["registry", "new-master-key", "m"]) == 0
    assert main(["registry", "new-owner-key", "o"]) == 0
    assert main(["registry", "new-owner-ca", "k", "c", "--name", "n"]) == 0
    base = ["enroll", "--sim-die", "7", "--device-id", "d", "--reads", "3", "--owner-key", "o"]
    capsys.readouterr()
    assert main([*base, "--owner-ca-key", "k", "--registry", "r", "--master-key", "m"]) == 1
    assert "give both --owner-ca-key and --owner-ca-cert" in capsys.readouterr().err
    monkeypatch.setenv("ROPUF_CA_PASSPHRASE", "not needed")
    code = main([*base, "--owner-ca-key", "k", "--owner-ca-cert", "c", "--registry", "r",
                 "--master-key", "m"])  # fmt: skip
    assert code == 1 and "is not encrypted: give no passphrase" in capsys.readouterr().err
    monkeypatch.delenv("ROPUF_CA_PASSPHRASE")
    code = main([*base, "--owner-ca-key", "k", "--owner-ca-cert", "c", "--registry", "r",
                 "--master-key", "m"])  # fmt: skip
    assert code == 0
    assert "certificate          : serial " in capsys.readouterr().out


def test_signature_attestation_from_the_registry_and_from_an_export(fleet, capsys):
    capsys.readouterr()
    assert attest(*fleet, "--method", "signature", "--owner-ca-cert", "ca.pem") == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["ok"] and figures["method"] == "signature"
    assert attest(*fleet, "--method", "signature") == 1
    assert "needs --owner-ca-cert" in capsys.readouterr().err
    assert main(["registry", "export", "--certs", "out", *fleet]) == 0
    capsys.readouterr()
    # The verifier of the export: no registry, no master key (none in the environment).
    assert "ROPUF_MASTER_KEY" not in os.environ
    assert attest("--method", "signature", "--owner-ca-cert", "ca.pem", "--certs", "out") == 0
    assert json.loads(capsys.readouterr().out)["ok"]
    assert attest("--certs", "out") == 1  # signature by default, but no trust anchor
    assert "needs --owner-ca-cert" in capsys.readouterr().err
    assert attest("--method", "hmac", "--certs", "out") == 1
    assert "drop --method hmac" in capsys.readouterr().err


def test_signature_is_the_default_where_it_can_be_checked(fleet, monkeypatch, capsys):
    monkeypatch.delenv("ROPUF_OWNER_CA_CERT", raising=False)
    capsys.readouterr()
    # No trust anchor: HMAC, and the command says why.
    assert attest(*fleet) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["method"] == "hmac"
    assert "by HMAC: no trusted owner CA certificate" in err
    # A trust anchor and the device's live certificate: signature, from the option or the
    # environment.
    assert attest(*fleet, "--owner-ca-cert", "ca.pem") == 0
    assert json.loads(capsys.readouterr().out)["method"] == "signature"
    monkeypatch.setenv("ROPUF_OWNER_CA_CERT", "ca.pem")
    assert attest(*fleet) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "signature"
    # A device without a certificate: HMAC.
    registry = fleet
    assert main(["enroll", "--sim-die", "8", "--device-id", "die-8", "--reads", "3",
                 "--owner-key", "owner.pem", *registry]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["attest", "--sim-die", "8", "--device-id", "die-8", "--json", *registry]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["method"] == "hmac"
    assert "no live certificate" in err


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")
def test_openssl_verifies_the_exported_chains(fleet):
    assert main(["registry", "export", "--certs", "out", *fleet]) == 0
    run = subprocess.run(
        ["openssl", "verify", "-x509_strict", "-CAfile", "ca.pem", "out/die-7.pem"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0 and run.stdout.strip() == "out/die-7.pem: OK", run.stderr
    assert main(["registry", "new-owner-ca", "other.key", "other.pem", "--name", "Acme fleet"]) == 0
    run = subprocess.run(
        ["openssl", "verify", "-CAfile", "other.pem", "out/die-7.pem"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode != 0


def test_revoke_then_signature_attestation_fails(fleet, capsys):
    assert main(["registry", "revoke", "--device-id", "die-7", *fleet]) == 0
    assert "revoked die-7 and its certificate" in capsys.readouterr().out
    assert attest(*fleet, "--method", "signature", "--owner-ca-cert", "ca.pem") == 1
    figures = json.loads(capsys.readouterr().out)
    assert not figures["ok"] and figures["reason"].startswith("revoked")
    assert main(["registry", "export", "--certs", "out", *fleet]) == 0
    capsys.readouterr()
    assert attest("--method", "signature", "--owner-ca-cert", "ca.pem", "--certs", "out") == 1
    assert json.loads(capsys.readouterr().out)["reason"].startswith("revoked")


def test_transfer_to_a_new_owner(fleet, capsys, monkeypatch):
    monkeypatch.delenv("ROPUF_CA_PASSPHRASE")
    assert main(["registry", "new-owner-ca", "new.key", "new.pem", "--name", "New owner"]) == 0
    capsys.readouterr()
    code = main(
        [
            "transfer", "--sim-die", "7", "--device-id", "die-7", "--owner-ca-key", "new.key",
            "--owner-ca-cert", "new.pem", *fleet, "--json",
        ]
    )  # fmt: skip
    assert code == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["owner_ca"] == "New owner" and figures["revoked_serial"] != figures["serial"]
    assert attest(*fleet, "--method", "signature", "--owner-ca-cert", "new.pem") == 0
    capsys.readouterr()
    assert attest(*fleet, "--method", "signature", "--owner-ca-cert", "ca.pem") == 1
    assert json.loads(capsys.readouterr().out)["reason"].startswith("other-ca")
    assert main(["registry", "export", "--certs", "out", *fleet]) == 0
    revoked = json.loads(Path("out/revoked.json").read_text())
    # The old certificate, by fingerprint (a serial is unique only under its owner CA).
    assert revoked["serials"] == [] and len(revoked["fingerprints"]) == 1


@pytest.mark.parametrize("build", ["locked", "deployment"])
def test_transfer_needs_the_unlocked_enrollment_build(fleet, capsys, monkeypatch, build):
    """On a locked enrollment build or a deployment build: one line naming the enrollment build
    before LOCK, exit 1, nothing stored (the old owner's certificate stays live)."""
    from dataclasses import replace

    from ropuf.cli import keys
    from ropuf.host.client import DeviceClient
    from ropuf.sim.board import Condition, device_model
    from ropuf.sim.fast_device import FastDevice

    condition = Condition(die_seed=7)
    config = condition.config
    if build == "deployment":
        config = replace(config, variant="deployment")
    client = DeviceClient(FastDevice(device_model(condition, config)))
    if build == "locked":
        client.lock()

    class Locked:
        label = f"die 7 ({build})"

        def open(self):
            return client

    with monkeypatch.context() as patch:
        patch.setattr(keys, "target_source", lambda args: Locked())
        patch.delenv("ROPUF_CA_PASSPHRASE")
        assert main(["registry", "new-owner-ca", "new.key", "new.pem", "--name", "New"]) == 0
        capsys.readouterr()
        code = main(
            [
                "transfer", "--sim-die", "7", "--device-id", "die-7", "--owner-ca-key",
                "new.key", "--owner-ca-cert", "new.pem", *fleet,
            ]
        )  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert "sign the certificate request with the device's enrollment build before LOCK" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert attest(*fleet, "--method", "signature", "--owner-ca-cert", "ca.pem") == 0


def test_export_takes_a_file_or_a_folder(fleet, capsys):
    assert main(["registry", "export", *fleet]) == 1
    assert main(["registry", "export", "x.json", "--certs", "out", *fleet]) == 1
    assert capsys.readouterr().err.count("give a JSON file to write, or --certs DIR") == 2
    assert main(["transfer", "--sim-die", "7", "--device-id", "die-7", *fleet]) == 1
    assert "give the new owner's CA" in capsys.readouterr().err
