"""The issue's end to end on the simulated iCEBreaker, through the command line: ``ropuf sim
serve --board icebreaker`` (a SimulatedBoard runs exactly that), ``ropuf enroll --port``,
``ropuf attest --port`` gives ATTESTED; another die given that record fails its key check."""

import pytest

from ropuf.cli.main import main
from ropuf.sim.board import Condition, SimulatedBoard

pytestmark = pytest.mark.sim


def test_enrol_and_attest_a_simulated_icebreaker_and_refuse_another_die(tmp_path, capsys):
    master, owner = tmp_path / "master.key", tmp_path / "owner.pem"
    assert main(["registry", "new-master-key", str(master)]) == 0
    assert main(["registry", "new-owner-key", str(owner)]) == 0
    registry = ["--registry", str(tmp_path / "r.db"), "--master-key", str(master)]
    device = ["--device-id", "ice-12"]
    with SimulatedBoard(Condition(die_seed=12, board="icebreaker"), timeout=120) as board:
        port = ["--port", board.url, "--timeout", "120"]
        # No --thresholds: the CLI recognises a simulated board's build and takes its offsets.
        enrol = ["enroll", *port, *device, "--reads", "3", "--owner-key", str(owner)]
        assert main([*enrol, *registry]) == 0
        assert "342 bytes" in capsys.readouterr().out
        assert main(["attest", *port, *device, *registry]) == 0
        assert "ATTESTED" in capsys.readouterr().out
    with SimulatedBoard(Condition(die_seed=13, board="icebreaker"), timeout=120) as board:
        port = ["--port", board.url, "--timeout", "120"]
        assert main(["attest", *port, *device, *registry]) == 1
        assert "KEY_CHECK_FAILED" in capsys.readouterr().out
