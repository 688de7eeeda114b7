"""The arbiter PUF in Verilator over dies, conditions, noise seeds and k, against the model."""

import json

import pytest

from ropuf.gateware.arbiter.puf import ArbiterPUF
from ropuf.sim import harness

N_STAGES = 64
TESTBENCH = "ropuf.sim.testbenches.arbiter_puf"

#: (degrees C, volts, noise seed, noise scale factor) of the cases of each die.
CONDITIONS = [
    (25.0, 1.2, 0, 1.0),  # noise seed 0: the default seed
    (85.0, 1.26, 1234, 1.0),
    (-20.0, 1.14, 0xDEADBEEF, 8.0),  # much more noise: many flipped answers
]


def puf_env(dut: ArbiterPUF, cases_file) -> dict[str, str]:
    return {
        "ROPUF_ARB_N": str(dut.n_stages),
        "ROPUF_ARB_K": str(dut.k),
        "ROPUF_ARB_CASES": str(cases_file),
    }


@pytest.mark.sim
@pytest.mark.parametrize("k", [1, 2])
def test_arbiter_puf_equals_model_over_dies_and_noise(k, tmp_path):
    dut = ArbiterPUF(n_stages=N_STAGES, k=k, expose_chains=True, simulation=True)
    build = harness.build(dut, f"arbiter_puf_n{N_STAGES}_k{k}")
    cases = []
    for die_seed in (1, 2, 3):
        for index, (temperature, voltage, noise_seed, noise_factor) in enumerate(CONDITIONS):
            cases.append(
                {
                    "die_seed": die_seed,
                    "temperature": temperature,
                    "voltage": voltage,
                    "noise_seed": noise_seed + die_seed if noise_seed else 0,
                    "noise_factor": noise_factor,
                    "challenges": 150,
                    "challenge_seed": 10 * die_seed + index,
                }
            )
    cases_file = tmp_path / "cases.json"
    cases_file.write_text(json.dumps(cases))
    result_file = tmp_path / "result.json"
    env = {**puf_env(dut, cases_file), "ROPUF_RESULT": str(result_file)}
    result = harness.run(build, TESTBENCH, env=env)
    assert result.tests == 1
    figures = json.loads(result_file.read_text())
    assert figures["responses"] == 9 * 150
    # Back to back: one challenge every cycles_per_evaluation + 1 cycles.
    per_response = figures["cycles"] / figures["responses"]
    assert per_response == pytest.approx(dut.cycles_per_evaluation + 1, abs=0.05)
