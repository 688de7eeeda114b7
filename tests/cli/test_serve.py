"""``ropuf serve``, ``ropuf registry token`` and the gateway mode ``ropuf attest --server``:
a real uvicorn server on 127.0.0.1 in a child process, dies enrolled on the fast model device
and attested through it, and the Verilator board of ``ropuf sim serve`` through the gateway."""

import datetime
import json

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ropuf.cli.main import main
from ropuf.host.registry import Registry, load_master_key
from ropuf.sim.board import Condition, SimulatedBoard
from tests.drivers.serve_process import ServeProcess, free_port


@pytest.fixture
def keys(tmp_path, registry_target):
    """Key files and the registry options: an SQLite file or a PostgreSQL database."""
    master, owner = tmp_path / "master.key", tmp_path / "owner.pem"
    assert main(["registry", "new-master-key", str(master)]) == 0
    assert main(["registry", "new-owner-key", str(owner)]) == 0
    registry = ["--registry", registry_target, "--master-key", str(master)]
    return {"master": master, "owner": owner, "registry": registry, "db": registry_target}


def enroll(keys, die: int, device_id: str) -> None:
    assert main(["enroll", "--sim-die", str(die), "--device-id", device_id, "--reads", "3",
                 "--owner-key", str(keys["owner"]), *keys["registry"]]) == 0  # fmt: skip


def token(keys, kind: str, capsys) -> dict:
    capsys.readouterr()
    create = ["registry", "token", "create", "--kind", kind, "--label", f"{kind} test"]
    assert main([*create, "--owner-key", str(keys["owner"]), *keys["registry"], "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def server(keys):
    """``ropuf serve`` in a child process on a free port, until the test ends; its URL."""
    serve = ServeProcess(keys["registry"])
    try:
        serve.wait_ready()
        yield serve.url
    finally:
        serve.stop()


def test_token_commands(keys, capsys):
    created = token(keys, "owner", capsys)
    assert created["token"].startswith("ropuf_" + created["token_id"] + "_")
    application = token(keys, "application", capsys)
    assert main(["registry", "token", "list", *keys["registry"], "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["tokens"]
    assert [(t["token_id"], t["scopes"], t["revoked"]) for t in listed] == [
        (created["token_id"], ["manage", "attest"], False),
        (application["token_id"], ["attest"], False),
    ]
    assert created["token"] not in json.dumps(listed)
    with Registry(keys["db"], load_master_key(keys["master"])) as registry:
        assert created["token"] not in repr(registry._db.execute("SELECT * FROM tokens").fetchall())
    assert main(["registry", "token", "revoke", created["token_id"], *keys["registry"]]) == 0
    assert main(["registry", "token", "revoke", created["token_id"], *keys["registry"]]) == 1
    assert "that is not revoked" in capsys.readouterr().err
    assert main(["registry", "token", "list", *keys["registry"]]) == 0
    assert f"{created['token_id']}  revoked" in capsys.readouterr().out


def test_serve_refuses_a_missing_master_key(keys, capsys, monkeypatch):
    monkeypatch.delenv("ROPUF_MASTER_KEY", raising=False)
    assert main(["serve", "--registry", str(keys["db"])]) == 1
    assert capsys.readouterr().err.startswith("ropuf serve: error: no master key")


def test_serve_refuses_a_bad_owner_ca_certificate(keys, tmp_path, capsys):
    """Checked before the service listens: a missing file, and a certificate that is no CA."""
    assert main(["serve", *keys["registry"], "--owner-ca-cert", str(tmp_path / "none.pem")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"ropuf serve: error: --owner-ca-cert {tmp_path / 'none.pem'}: cannot")
    leaf = tmp_path / "leaf.pem"
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "not a CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256())
    )  # fmt: skip
    leaf.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    assert main(["serve", *keys["registry"], "--owner-ca-cert", str(leaf)]) == 1
    assert "the owner CA's certificate is not a CA certificate" in capsys.readouterr().err


def test_serve_refuses_an_unreachable_database(tmp_path, capsys):
    """The password of a PostgreSQL URL never appears in the message."""
    master = tmp_path / "master.key"
    assert main(["registry", "new-master-key", str(master)]) == 0
    url = f"postgresql://ropuf:s3cret@127.0.0.1:{free_port()}/fleet?connect_timeout=5"
    assert main(["serve", "--registry", url, "--master-key", str(master)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ropuf serve: error: postgresql://ropuf:***@127.0.0.1:")
    assert "is not a usable registry" in err and "s3cret" not in err


def test_gateway_attests_through_a_served_registry(keys, server, capsys, monkeypatch):
    enroll(keys, 7, "die-7")
    enroll(keys, 8, "die-8")
    app_token = token(keys, "application", capsys)["token"]
    owner_token = token(keys, "owner", capsys)["token"]
    gateway = ["attest", "--server", server, "--token", app_token]
    assert main([*gateway, "--sim-die", "7", "--device-id", "die-7"]) == 0
    assert capsys.readouterr().out.startswith("ATTESTED die-7 at die 7 at 25 C")
    # Die 8 posing as die 7: its device cannot reconstruct die 7's key.
    monkeypatch.setenv("ROPUF_TOKEN", app_token)
    assert main(["attest", "--server", server, "--sim-die", "8", "--device-id", "die-7"]) == 1
    line = capsys.readouterr().out.strip()
    assert line.startswith("FAILED die-7 at die 8") and "KEY_CHECK_FAILED" in line
    # The verdicts are the service's: read them back with the owner's token.
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {owner_token}"}) as api:
        listed = api.get("/v1/devices").json()
        assert [d["device_id"] for d in listed["devices"]] == ["die-7", "die-8"]
        seven = api.get("/v1/devices/die-7").json()
        assert seven["last_attestation"]["ok"] is True and seven["status"] == "active"
        assert api.get("/v1/devices/die-8").json()["last_attestation"] is None
        assert api.post("/v1/devices/die-8/revoke").json()["status"] == "revoked"
    assert main([*gateway, "--sim-die", "8", "--device-id", "die-8"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ropuf attest: error: the service refused /v1/challenges (HTTP 409)")
    assert "revoked" in err
    assert main([*gateway[:4], "ropuf_nope", "--sim-die", "7", "--device-id", "die-7"]) == 1
    assert "HTTP 401) unauthorized: unknown or revoked token" in capsys.readouterr().err
    with Registry(keys["db"], load_master_key(keys["master"])) as registry:
        key = registry.attestation_key("die-7")
    assert key.hex() not in line + err


@pytest.mark.parametrize("registry_target", ["sqlite"], indirect=True)
def test_gateway_attests_by_signature(keys, tmp_path, capsys, monkeypatch):
    """``ropuf serve --owner-ca-cert`` checks the signature the local device makes through
    ``attest --server --method signature``; a device with no certificate is told to use HMAC."""
    monkeypatch.delenv("ROPUF_CA_PASSPHRASE", raising=False)
    ca_key, ca_cert = str(tmp_path / "ca.key"), str(tmp_path / "ca.pem")
    assert main(["registry", "new-owner-ca", ca_key, ca_cert, "--name", "Acme fleet"]) == 0
    assert main(["enroll", "--sim-die", "7", "--device-id", "die-7", "--reads", "3",
                 "--owner-key", str(keys["owner"]), "--owner-ca-key", ca_key,
                 "--owner-ca-cert", ca_cert, *keys["registry"]]) == 0  # fmt: skip
    enroll(keys, 8, "die-8")
    app_token = token(keys, "application", capsys)["token"]
    serve = ServeProcess([*keys["registry"], "--owner-ca-cert", ca_cert])
    try:
        serve.wait_ready()
        gateway = ["attest", "--server", serve.url, "--token", app_token, "--method", "signature"]
        assert main([*gateway, "--sim-die", "7", "--device-id", "die-7", "--json"]) == 0
        figures = json.loads(capsys.readouterr().out)
        assert figures["ok"] is True and figures["method"] == "signature"
        assert main([*gateway, "--sim-die", "8", "--device-id", "die-8"]) == 1
        err = capsys.readouterr().err
        assert "the service cannot check a signature of 'die-8' (it offers hmac)" in err
        # Without --method: what the service offers for the device, signature first.
        default = ["attest", "--server", serve.url, "--token", app_token, "--json"]
        assert main([*default, "--sim-die", "7", "--device-id", "die-7"]) == 0
        assert json.loads(capsys.readouterr().out)["method"] == "signature"
        assert main([*default, "--sim-die", "8", "--device-id", "die-8"]) == 0
        assert json.loads(capsys.readouterr().out)["method"] == "hmac"
        assert main([*gateway, "--sim-die", "7", "--device-id", "die-7",
                     "--owner-ca-cert", ca_cert]) == 1  # fmt: skip
        assert "drop --owner-ca-cert and --certs" in capsys.readouterr().err
        with httpx.Client(base_url=serve.url,
                          headers={"Authorization": f"Bearer {app_token}"}) as api:  # fmt: skip
            issued = api.post("/v1/challenges", json={"device_id": "die-7"}).json()
            assert issued["methods"] == ["hmac", "signature"]
            # A signature that is not die 7's (64 bytes of r and s out of range) is a verdict.
            bad = {"device_id": "die-7", "nonce": issued["nonce"], "signature": "00" * 64}
            answer = api.post("/v1/attestations", json=bad).json()
            assert answer["ok"] is False and answer["reason"].startswith("bad-signature")
    finally:
        serve.stop()


def test_gateway_errors_are_one_line(keys, capsys, monkeypatch):
    monkeypatch.delenv("ROPUF_TOKEN", raising=False)
    base = ["attest", "--sim-die", "7", "--device-id", "die-7"]
    assert main([*base, "--server", "http://127.0.0.1:9"]) == 1
    assert "no service token: set ROPUF_TOKEN" in capsys.readouterr().err
    assert main([*base, "--server", "127.0.0.1:9", "--token", "t"]) == 1
    assert "--server takes http://HOST:PORT" in capsys.readouterr().err
    assert main([*base, "--server", f"http://127.0.0.1:{free_port()}", "--token", "t"]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("ropuf attest: error: cannot reach the service at") and err.count("\n") == 1
    )


@pytest.mark.sim
@pytest.mark.parametrize("registry_target", ["sqlite"], indirect=True)
def test_gateway_with_a_simulated_board(keys, server, capsys):
    """The Verilator board on a TCP port answers through the gateway: die 31, enrolled on the
    fast model device (bit for bit the same device), reconstructs and attests: about 10 s with
    the board's Verilator model built (test_e2e.py builds the same), 45 s from cold."""
    enroll(keys, 31, "board-31")
    app_token = token(keys, "application", capsys)["token"]
    with SimulatedBoard(Condition(die_seed=31, noise_seed=5)) as board:
        assert main(["attest", "--server", server, "--token", app_token, "--port", board.url,
                     "--device-id", "board-31"]) == 0  # fmt: skip
    assert capsys.readouterr().out.startswith(f"ATTESTED board-31 at {board.url}")


def test_no_command_prints_a_database_password(tmp_path, postgres_url, capsys):
    """A password in a PostgreSQL URL (here ignored: the test server trusts its users) is
    printed as *** by every command that names the registry."""
    master = tmp_path / "master.key"
    assert main(["registry", "new-master-key", str(master)]) == 0
    url = postgres_url.replace("ropuf@", "ropuf:s3cret@")
    registry = ["--registry", url, "--master-key", str(master)]
    assert main(["registry", "list", *registry]) == 0
    assert main(["registry", "token", "list", *registry]) == 0
    export = tmp_path / "export.json"
    assert main(["registry", "export", str(export), *registry]) == 0
    assert main(["registry", "import", str(export), *registry]) == 0
    out = capsys.readouterr().out
    assert out.count("ropuf:***@127.0.0.1") == 3 and "s3cret" not in out
