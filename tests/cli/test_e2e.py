"""End to end through the command line against the Verilator device on a TCP port (socket://).

One die is enrolled once for the module (3 reads of the 760 candidate pairs: about 4.5 million
simulated cycles); everything statistical runs on the fast model device elsewhere
(host/test_enrollment.py, cli/test_enroll.py). The last test locks the board.
"""

import shutil
import sqlite3
import zlib

import pytest

from ropuf.cli.main import main
from ropuf.host.attestation import Verifier
from ropuf.host.client import BadHelperError, DeviceClient, DeviceLockedError, KeyCheckFailedError
from ropuf.host.registry import Registry, load_master_key
from ropuf.sim.board import Condition, SimulatedBoard

pytestmark = pytest.mark.sim

DEVICE = "board-31"


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory):
    """A simulated board (die 31), enrolled through ``ropuf enroll --port socket://...``."""
    tmp = tmp_path_factory.mktemp("e2e")
    master, owner = tmp / "master.key", tmp / "owner.pem"
    ca_key, ca_cert = tmp / "ca.key", tmp / "ca.pem"
    assert main(["registry", "new-master-key", str(master)]) == 0
    assert main(["registry", "new-owner-key", str(owner)]) == 0
    assert main(["registry", "new-owner-ca", str(ca_key), str(ca_cert), "--name", "e2e"]) == 0
    registry = ["--registry", str(tmp / "r.db"), "--master-key", str(master)]
    with SimulatedBoard(Condition(die_seed=31, noise_seed=5)) as board:
        code = main(
            [
                "enroll",
                "--port",
                board.url,
                "--device-id",
                DEVICE,
                "--reads",
                "3",
                "--owner-key",
                str(owner),
                "--owner-ca-key",
                str(ca_key),
                "--owner-ca-cert",
                str(ca_cert),
                *registry,
            ]
        )
        yield {
            "ca_cert": ca_cert,
            "code": code,
            "url": board.url,
            "registry": registry,
            "db": tmp / "r.db",
            "master": master,
            "owner": owner,
            "tmp": tmp,
        }


def attest(url, registry, device_id=DEVICE):
    return main(["attest", "--port", url, "--device-id", device_id, *registry])


def test_enroll_then_attest(enrolled, capsys):
    assert enrolled["code"] == 0
    assert attest(enrolled["url"], enrolled["registry"]) == 0
    line = capsys.readouterr().out.strip()
    assert line == (
        f"ATTESTED {DEVICE} at {enrolled['url']}: it reconstructed its enrolled key and "
        "answered a fresh nonce"
    )
    with Registry(enrolled["db"], load_master_key(enrolled["master"])) as registry:
        record = registry.record(DEVICE)
    assert record.puf["enrollment"] == {"conditions": [enrolled["url"]], "reads_per_condition": 3}


def test_signature_attestation_with_only_certificates(enrolled, capsys):
    """The board's identity: enrolment certified it (IDENTITY, SIGN of the request on the
    Verilator device); a verifier holding the export alone attests it by signature."""
    certs = enrolled["tmp"] / "certs"
    assert main(["registry", "export", "--certs", str(certs), *enrolled["registry"]]) == 0
    capsys.readouterr()
    code = main(
        [
            "attest", "--port", enrolled["url"], "--device-id", DEVICE, "--method", "signature",
            "--owner-ca-cert", str(enrolled["ca_cert"]), "--certs", str(certs),
        ]
    )  # fmt: skip
    assert code == 0
    assert capsys.readouterr().out.strip() == (
        f"ATTESTED {DEVICE} at {enrolled['url']}: it reconstructed its enrolled key and "
        "signed a fresh nonce under its owner-certified key"
    )


def test_another_die_fails_with_this_record(enrolled, capsys):
    with SimulatedBoard(Condition(die_seed=32, noise_seed=5)) as other:
        assert attest(other.url, enrolled["registry"]) == 1
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"FAILED {DEVICE} at {other.url}: RECONSTRUCT: key check failed")
    assert "KEY_CHECK_FAILED" in line and "\n" not in line


def test_replayed_nonce_is_rejected(enrolled):
    with (
        Registry(enrolled["db"], load_master_key(enrolled["master"])) as registry,
        DeviceClient.open(enrolled["url"], timeout=120) as client,
    ):
        verifier = Verifier(registry)
        assert verifier.attest_enrolled(DEVICE, client).ok
        nonce = verifier.challenge()
        mac = client.attest(nonce)
        assert verifier.verify(DEVICE, nonce, mac).ok
        replay = verifier.verify(DEVICE, nonce, mac)
        assert not replay.ok and replay.reason == "replayed nonce: it was used before"
        moved = verifier.verify(DEVICE, verifier.challenge(), mac)  # old MAC, new nonce
        assert not moved.ok and moved.reason.startswith("MAC mismatch")


def test_manipulated_helper_data_fails_the_key_check(enrolled):
    with Registry(enrolled["db"], load_master_key(enrolled["master"])) as registry:
        record = registry.record(DEVICE).helper_data
    tampered = bytearray(record)
    tampered[18 + 95] ^= 0x80  # the first code-offset bit: the decoder alone would correct it
    body = bytes(tampered[:-4])
    with DeviceClient.open(enrolled["url"], timeout=120) as client:
        client.load_helper(body + zlib.crc32(body).to_bytes(4, "big"))
        with pytest.raises(KeyCheckFailedError, match="does not match this device or was"):
            client.reconstruct()
        client.load_helper(bytes(tampered))  # CRC no longer matches: malformed
        with pytest.raises(BadHelperError):
            client.reconstruct()
        client.load_helper(record)
        client.reconstruct()
        assert client.info().key_ready


def test_wrong_master_key_cannot_read_the_registry(enrolled, capsys):
    wrong = enrolled["tmp"] / "wrong.key"
    wrong.write_text("5a" * 32)
    registry = ["--registry", str(enrolled["db"]), "--master-key", str(wrong)]
    assert attest(enrolled["url"], registry) == 1
    line = capsys.readouterr().out.strip()
    assert line.endswith(
        f"cannot decrypt the key of '{DEVICE}': wrong master key, or the registry was tampered with"
    )


def test_tampered_record_fails_its_owner_signature(enrolled, capsys):
    copy = enrolled["tmp"] / "tampered.db"
    shutil.copy(enrolled["db"], copy)
    db = sqlite3.connect(copy)
    db.execute(
        "UPDATE devices SET record = replace(record, '\"reads_per_condition\":3', "
        "'\"reads_per_condition\":30')"
    )
    db.commit()
    db.close()
    registry = ["--registry", str(copy), "--master-key", str(enrolled["master"])]
    assert attest(enrolled["url"], registry) == 1
    assert "fails its owner signature: it was changed after enrollment" in capsys.readouterr().out


def test_locked_device_refuses_readout_and_enrollment(enrolled, capsys):
    url = enrolled["url"]
    assert main(["lock", "--port", url]) == 0
    capsys.readouterr()
    with DeviceClient.open(url, timeout=120) as client:
        with pytest.raises(DeviceLockedError, match="status 0x12 LOCKED"):
            client.read_ro([(0, 1)])
    code = main(
        [
            "enroll",
            "--port",
            url,
            "--device-id",
            "again",
            "--reads",
            "3",
            "--owner-key",
            str(enrolled["owner"]),
            *enrolled["registry"],
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"ropuf enroll: error: the device at {url} is locked") and (
        err.count("\n") == 1
    )
    # Locking stops raw readout only: the enrolled key still attests.
    assert attest(url, enrolled["registry"]) == 0
