"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def host2010_dir() -> Path | None:
    """The real Spartan-3E RO data set (HOST 2010), if present.

    ``ROPUF_HOST2010`` names a local copy; otherwise the team's copy beside the repository.
    """
    env = os.environ.get("ROPUF_HOST2010")
    candidates = [Path(env)] if env else [REPO.parent / "shared" / "data" / "ropuf_host2010"]
    for path in candidates:
        if path.is_dir() and any(path.glob("chip_formatted_*.csv")):
            return path
    return None


@pytest.fixture(scope="session")
def host2010() -> Path:
    """Folder of the real RO data; tests that need it skip when it is absent (it is not ours)."""
    path = host2010_dir()
    if path is None:
        pytest.skip(
            "HOST 2010 RO data not found: set ROPUF_HOST2010 to a folder of chip_formatted_N.csv"
        )
    return path
