"""Icarus runs of the designs whose Verilator tests live elsewhere
(gateware/link/test_frame_echo_verilator.py, gateware/arbiter/test_puf_verilator.py): the same
testbenches, so every design the harness builds for Verilator is also run under Icarus by
``make test-icarus``."""

import json

import pytest

from ropuf.gateware.arbiter.puf import ArbiterPUF
from ropuf.gateware.link.frame_echo import FrameEcho
from ropuf.sim import harness

pytestmark = [pytest.mark.sim, pytest.mark.icarus]


def test_frame_echo_icarus(tmp_path):
    build = harness.build(FrameEcho(divisor=4), "frame_echo_d4", simulator="icarus")
    env = {"ROPUF_FRAME_DIVISOR": "4", "ROPUF_FRAME_COUNT": "12", "ROPUF_RESULT": str(tmp_path)}
    result = harness.run(build, "ropuf.sim.testbenches.frame_echo", env=env, seed=3)
    assert result.tests == 3


def test_arbiter_puf_icarus(tmp_path):
    design = ArbiterPUF(n_stages=64, k=2, expose_chains=True, simulation=True)
    build = harness.build(design, "arbiter_puf_n64_k2", simulator="icarus")
    cases = [
        {
            "die_seed": die_seed,
            "temperature": temperature,
            "voltage": voltage,
            "noise_seed": 1000 + die_seed,
            "noise_factor": 8.0,
            "challenges": 40,
            "challenge_seed": die_seed,
        }
        for die_seed, temperature, voltage in ((1, 85.0, 1.26), (2, -20.0, 1.14))
    ]
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    env = {"ROPUF_ARB_N": "64", "ROPUF_ARB_K": "2", "ROPUF_ARB_CASES": str(tmp_path / "cases.json")}
    result = harness.run(build, "ropuf.sim.testbenches.arbiter_puf", env=env)
    assert result.tests == 1
