"""The mutation check (scripts/mutation-check): its table matches the code, and each of its
deliberate bugs makes the tests it names fail (slow: a minute or two)."""

import importlib.machinery
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "mutation-check"


def _script():
    loader = importlib.machinery.SourceFileLoader("mutation_check", str(SCRIPT))
    spec = importlib.util.spec_from_loader("mutation_check", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_mutation_table_matches_the_code():
    mutations = _script().MUTATIONS
    assert mutations
    for mutation in mutations:
        text = (REPO / mutation.file).read_text()
        assert text.count(mutation.original) == 1, mutation.name
        assert mutation.mutated != mutation.original and mutation.tests
        for test in mutation.tests:
            file, name = test.split("::")
            assert f"def {name}(" in (REPO / file).read_text(), test


@pytest.mark.slow
def test_every_mutation_is_caught():
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=1800
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert report.count("FAILED-AS-EXPECTED") == len(_script().MUTATIONS), report
    assert "SURVIVED" not in report
