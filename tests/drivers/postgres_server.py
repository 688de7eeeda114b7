"""A throw-away PostgreSQL server for the tests: Debian's server binaries (package
``postgresql``), a fresh cluster in a temporary folder, trust authentication on 127.0.0.1 and
a free port, stopped and removed at the end. The server refuses to run as root, so as root
(CI) it runs as the ``postgres`` user that the package creates."""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["MISSING", "find_bin_dir", "postgres_server"]

MISSING = (
    "PostgreSQL server binaries not found (initdb, pg_ctl): install Debian's postgresql "
    "package (apt-get install postgresql)"
)


def find_bin_dir() -> Path | None:
    """The folder of initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=os.path.getmtime)
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def postgres_server(bin_dir: Path) -> Iterator[str]:
    """A running server; yields the URL of its ``postgres`` database (user ``ropuf``)."""
    as_user = None
    if os.geteuid() == 0:
        as_user = "postgres"
        pwd.getpwnam(as_user)  # KeyError: the package creates this user
    folder = Path(tempfile.mkdtemp(prefix="ropuf-pg-"))
    data, sockets, log = folder / "data", folder / "sockets", folder / "server.log"
    sockets.mkdir()
    if as_user:
        entry = pwd.getpwnam(as_user)
        for path in (folder, sockets):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    port = _free_port()

    def run(*args: str) -> None:
        subprocess.run(
            args, check=True, user=as_user, stdin=subprocess.DEVNULL, capture_output=True,
            cwd=folder,
        )  # fmt: skip

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "ropuf", "--auth=trust",
            "--no-sync", "-E", "UTF8")  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off "
            "-c max_connections=60"
        )
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w",
            "-t", "60", "start")  # fmt: skip
        yield f"postgresql://ropuf@127.0.0.1:{port}/postgres"
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace")[-800:]
        if log.exists():
            detail += log.read_text(errors="replace")[-800:]
        raise RuntimeError(f"the test PostgreSQL server failed: {detail}") from None
    finally:
        if (data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        deadline = time.monotonic() + 10
        while (data / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(folder, ignore_errors=True)
