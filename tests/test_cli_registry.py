"""``ropuf registry``: list, export, import, new-master-key through the command line."""

import json
import sqlite3

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host.cli import main
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
