"""``ropuf registry``: list, export, import, new-master-key through the command line."""

import json
import sqlite3

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.cli.main import main
from ropuf.host.registry import EnrollmentRecord, Registry, load_master_key


def enrol(path, key_file, device_id):
    owner = Ed25519PrivateKey.generate()
    record = EnrollmentRecord(
        device_id, "2026-11-24T00:00:00+00:00", {"n_ro": 256}, b"h" * 40,
        owner.public_key().public_bytes_raw(),
    )  # fmt: skip
    with Registry(path, load_master_key(key_file)) as registry:
        registry.enroll(record, bytes(32), owner)


def test_registry_commands(tmp_path, capsys):
    key = tmp_path / "master.key"
    db = tmp_path / "a.db"
    assert main(["registry", "new-master-key", str(key)]) == 0
    assert key.stat().st_mode & 0o777 == 0o600
    assert main(["registry", "new-master-key", str(key)]) == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    enrol(db, key, "dev-1")
    enrol(db, key, "dev-2")
    common = ["--registry", str(db), "--master-key", str(key)]
    assert main(["registry", "list", *common, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [d["device_id"] for d in listed["devices"]] == ["dev-1", "dev-2"]
    export = tmp_path / "export.json"
    assert main(["registry", "export", str(export), *common]) == 0
    other = ["--registry", str(tmp_path / "b.db"), "--master-key", str(key)]
    assert main(["registry", "import", str(export), *other]) == 0
    assert "imported 2 device(s)" in capsys.readouterr().out
    # A record changed behind the registry's back fails its signature, with one clear line.
    conn = sqlite3.connect(db)
    conn.execute("UPDATE devices SET record = replace(record, 'dev-2', 'dev-9')")
    conn.commit()
    conn.close()
    assert main(["registry", "list", *common]) == 1
    err = capsys.readouterr().err.strip()
    assert "fails its owner signature" in err and "\n" not in err


def test_registry_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ROPUF_MASTER_KEY", raising=False)
    assert main(["registry", "list", "--registry", str(tmp_path / "x.db")]) == 1
    assert "no master key" in capsys.readouterr().err
    key = tmp_path / "k"
    key.write_text("00" * 32)
    missing = ["--registry", str(tmp_path / "x.db"), "--master-key", str(key)]
    assert main(["registry", "import", str(tmp_path / "nope.json"), *missing]) == 1
    assert "cannot read" in capsys.readouterr().err


def enrol_sim_die(tmp_path, die, device_id):
    """Enrol simulated die *die* as *device_id* through the command line; the registry options."""
    master, owner = tmp_path / "master.key", tmp_path / "owner.pem"
    if not master.exists():
        assert main(["registry", "new-master-key", str(master)]) == 0
        assert main(["registry", "new-owner-key", str(owner)]) == 0
    common = ["--registry", str(tmp_path / "r.db"), "--master-key", str(master)]
    enroll = ["enroll", "--sim-die", str(die), "--device-id", device_id, "--reads", "3"]
    assert main([*enroll, "--owner-key", str(owner), *common]) == 0
    return common


def test_attest_refuses_a_relabelled_row(tmp_path, capsys):
    """Renaming die 7's row to die-9 in SQL does not make die 7 attest as die-9."""
    common = enrol_sim_die(tmp_path, 7, "die-7")
    assert main(["attest", "--sim-die", "7", "--device-id", "die-7", *common]) == 0
    conn = sqlite3.connect(tmp_path / "r.db")
    conn.execute("UPDATE devices SET device_id = 'die-9' WHERE device_id = 'die-7'")
    conn.commit()
    conn.close()
    capsys.readouterr()
    assert main(["attest", "--sim-die", "7", "--device-id", "die-9", *common]) == 1
    out = capsys.readouterr().out.strip()
    assert out.startswith("FAILED die-9 at ") and "\n" not in out
    assert "the row 'die-9' holds the signed record of 'die-7'" in out


def test_attest_reports_a_damaged_record_as_failed(tmp_path, capsys):
    """A record whose text no longer parses (here: a field name changed, which used to escape as
    KeyError with a traceback) is FAILED with the reason."""
    common = enrol_sim_die(tmp_path, 7, "die-7")
    conn = sqlite3.connect(tmp_path / "r.db")
    conn.execute("""UPDATE devices SET record = replace(record, '"puf":', '"pug":')""")
    conn.commit()
    conn.close()
    capsys.readouterr()
    assert main(["attest", "--sim-die", "7", "--device-id", "die-7", *common]) == 1
    out = capsys.readouterr().out.strip()
    assert out.startswith("FAILED die-7 at ") and "\n" not in out
    assert "the enrollment record of 'die-7' is unreadable" in out
