"""The command line's error rule: a RopufError is one line and exit status 1, anything else
is a bug and keeps its traceback."""

import pytest

from ropuf.cli.main import main
from ropuf.host import registry
from ropuf.spec.errors import InputError, RopufError


def _raise(exc):
    def run(*_args, **_kwargs):
        raise exc

    return run


def test_a_ropuf_error_is_one_line_and_exit_status_1(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(registry, "generate_master_key", _raise(RopufError("what to do")))
    assert main(["registry", "new-master-key", str(tmp_path / "master.key")]) == 1
    err = capsys.readouterr().err
    assert err == "ropuf registry: error: what to do\n"


def test_bad_input_is_one_line(tmp_path, capsys):
    key = tmp_path / "master.key"
    key.write_text("x\n")
    assert main(["registry", "new-master-key", str(key)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("ropuf registry: error: ") and "exists" in err and err.count("\n") == 1
    assert issubclass(InputError, RopufError) and issubclass(InputError, ValueError)


@pytest.mark.parametrize("bug", [ValueError("a bug"), RuntimeError("a bug"), TypeError("a bug")])
def test_a_bug_in_library_code_keeps_its_traceback(tmp_path, capsys, monkeypatch, bug):
    monkeypatch.setattr(registry, "generate_master_key", _raise(bug))
    with pytest.raises(type(bug), match="a bug"):
        main(["registry", "new-master-key", str(tmp_path / "master.key")])
    assert "error:" not in capsys.readouterr().err


def test_every_error_class_derives_from_ropuf_error():
    from ropuf.boards import build, yowasp
    from ropuf.host import (
        arbiter_attack,
        client,
        crp,
        crp_auth,
        dataset,
        design_offsets,
        fuzzy,
        keygen,
        keygen_analysis,
        metrics,
        transport,
    )
    from ropuf.sim import arbiter_handler_driver, board, calibration, harness, toolchain
    from ropuf.spec import arbiter_command, framing, helper_data

    modules = [build, yowasp, arbiter_attack, client, crp, crp_auth, dataset, design_offsets,
               fuzzy, keygen, keygen_analysis, metrics, transport, registry,
               arbiter_handler_driver, board, calibration, harness, toolchain, arbiter_command,
               framing, helper_data]  # fmt: skip
    errors = [
        value
        for module in modules
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == module.__name__
    ]
    assert len(errors) >= 30
    assert [e.__name__ for e in errors if not issubclass(e, RopufError)] == []
