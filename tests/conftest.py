"""Shared pytest fixtures, the real-data check and the per-test time-outs of the tiers."""

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]  # tests of this file's own hooks (test_run_hygiene.py)

REPO = Path(__file__).resolve().parent.parent

#: Per-test time-out (seconds) of the FPGA builds (marker ``build``): a cold place-and-route with
#: the WebAssembly tools on a loaded 2-core machine takes many minutes. Every other test has the
#: ``timeout`` of ``[tool.pytest.ini_options]`` in pyproject.toml.
BUILD_TIMEOUT = 3600

#: Per-test time-out (seconds) of the long statistical runs (marker ``slow``).
SLOW_TIMEOUT = 3600

_MISSING = "HOST 2010 RO data not found"


def in_ci() -> bool:
    """True in continuous integration (``CI=true``, as GitHub Actions and GitLab CI set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _host2010_candidate() -> Path:
    env = os.environ.get("ROPUF_HOST2010")
    return Path(env) if env else REPO.parent / "shared" / "data" / "ropuf_host2010"


def host2010_dir() -> Path | None:
    """The real Spartan-3E RO data set (HOST 2010), if present.

    ``ROPUF_HOST2010`` names a local copy; otherwise the team's copy beside the repository.
    """
    path = _host2010_candidate()
    if path.is_dir() and any(path.glob("chip_formatted_*.csv")):
        return path
    return None


def _missing_data_message() -> str:
    path = _host2010_candidate()
    where = "ROPUF_HOST2010" if os.environ.get("ROPUF_HOST2010") else "the default place"
    state = "has no chip_formatted_*.csv" if path.is_dir() else "does not exist"
    return (
        f"{_MISSING}: {path} ({where}) {state}; set ROPUF_HOST2010 to a folder "
        "of chip_formatted_N.csv files"
    )


@pytest.fixture(scope="session")
def host2010() -> Path:
    """Folder of the real RO data (it is not ours, so not in the repository).

    Without it the tests that need it skip, with a warning in the run's summary; in CI
    (``CI=true``), where the data is always provided, they fail: a broken path must not turn the
    calibration against real chips off unnoticed.
    """
    path = host2010_dir()
    if path is None:
        message = _missing_data_message()
        if in_ci():
            pytest.fail(f"{message} (CI=true: the real-data tests must run in CI)", pytrace=False)
        pytest.skip(message)
    return path


def pytest_collection_modifyitems(config, items):
    # The builds and the long runs get their own, larger bound (an explicit timeout marker on a
    # test still wins).
    for item in items:
        if item.get_closest_marker("timeout") is not None:
            continue
        if item.get_closest_marker("build") is not None:
            item.add_marker(pytest.mark.timeout(BUILD_TIMEOUT))
        elif item.get_closest_marker("slow") is not None:
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # A loud line, not only an "s" among the dots: the calibration against real chips was off.
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and _MISSING in str(report.longrepr[-1])
    ]
    if skipped:
        reason = str(skipped[0].longrepr[-1]).removeprefix("Skipped: ")
        terminalreporter.section("real-data tests did not run", sep="!", red=True, bold=True)
        terminalreporter.line(
            f"WARNING: {len(skipped)} tests skipped: {reason}. "
            "The calibration against real chips did not run.",
            red=True,
            bold=True,
        )


@pytest.fixture
def sim_design_offsets(monkeypatch) -> tuple[int, ...]:
    """The simulated ECP5 board built with the simulated design's offsets
    (:func:`ropuf.sim.design_thresholds.with_simulated_offsets`) for this test: the board a
    :class:`~ropuf.sim.board.Condition` names holds them, as a characterised build does.
    Returns those offsets (what enrollment must be given)."""
    from ropuf.sim import board
    from ropuf.sim.design_thresholds import with_simulated_offsets

    config = with_simulated_offsets(board.SIM_BOARDS[board.DEFAULT_BOARD])
    monkeypatch.setitem(board.SIM_BOARDS, board.DEFAULT_BOARD, config)
    return config.offsets


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """A PostgreSQL server for the session (tests/drivers/postgres_server.py): the URL of its
    ``postgres`` database. Without the server binaries the tests that need it skip with a
    warning; in CI (``CI=true``) they fail, so that the PostgreSQL registry is always tested
    there."""
    from tests.drivers.postgres_server import MISSING, find_bin_dir, postgres_server

    bin_dir = find_bin_dir()
    if bin_dir is None:
        if in_ci():
            pytest.fail(f"{MISSING} (CI=true: the PostgreSQL tests must run in CI)", pytrace=False)
        pytest.skip(MISSING)
    with postgres_server(bin_dir) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> str:
    """The URL of a fresh, empty database on the session's PostgreSQL server."""
    import secrets

    import psycopg

    name = f"ropuf_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    yield postgres_server_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_target(request, tmp_path) -> str:
    """Where a registry lives, once for each backend: an SQLite file, a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "registry.db")
    return request.getfixturevalue("postgres_url")
