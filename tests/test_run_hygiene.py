"""The test run itself: missing real data fails CI and warns elsewhere; every test has a bound."""

from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")

USES_DATA = """
def test_one(host2010):
    assert host2010.is_dir()

def test_two(host2010):
    assert host2010.is_dir()
"""


@pytest.fixture
def data_run(pytester, monkeypatch):
    """Run two tests that need the HOST 2010 data in a fresh pytest, under this conftest."""
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_uses_data=USES_DATA)

    def run(data: Path, ci: str | None):
        monkeypatch.setenv("ROPUF_HOST2010", str(data))
        if ci is None:
            monkeypatch.delenv("CI", raising=False)
        else:
            monkeypatch.setenv("CI", ci)
        return pytester.runpytest_subprocess("-p", "no:cacheprovider")

    return run


def test_missing_data_fails_in_ci(data_run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = data_run(empty, "true")
    result.assert_outcomes(errors=2)
    assert result.ret != 0
    result.stdout.fnmatch_lines(
        [f"*HOST 2010 RO data not found: {empty} (ROPUF_HOST2010) has no chip_formatted_*.csv*"]
    )
    result.stdout.fnmatch_lines(["*CI=true: the real-data tests must run in CI*"])


def test_missing_data_skips_loudly_elsewhere(data_run, tmp_path):
    gone = tmp_path / "gone"
    result = data_run(gone, None)
    result.assert_outcomes(skipped=2)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*real-data tests did not run*",
            (
                f"WARNING: 2 tests skipped: HOST 2010 RO data not found: {gone} (ROPUF_HOST2010) "
                "does not exist; set ROPUF_HOST2010*The calibration against real chips did not run."
            ),
        ]
    )


def test_present_data_runs_in_ci(data_run, tmp_path):
    (tmp_path / "chip_formatted_1.csv").write_text("1,2\n")
    result = data_run(tmp_path, "true")
    result.assert_outcomes(passed=2)
    assert "real-data tests did not run" not in result.stdout.str()


def test_every_test_has_a_bound(request):
    assert request.config.getini("timeout") == "900"
    assert request.node.get_closest_marker("timeout") is None  # the ini bound applies here


def test_builds_and_slow_runs_have_their_own_bound(pytester):
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makeini("[pytest]\nmarkers =\n    build: b\n    slow: s\n")
    pytester.makepyfile(
        """
        import pytest

        def bound(request):
            return request.node.get_closest_marker("timeout").args[0]

        @pytest.mark.build
        def test_build(request):
            assert bound(request) == 3600

        @pytest.mark.slow
        def test_slow(request):
            assert bound(request) == 3600

        @pytest.mark.build
        @pytest.mark.timeout(7)
        def test_own(request):
            assert bound(request) == 7
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=3)
