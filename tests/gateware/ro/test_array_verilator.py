"""The RO array in Verilator (and Icarus) for several dies and corners, against the model."""

import json
import random

import pytest

from ropuf.gateware.ro.array import ROArray
from ropuf.sim import harness
from ropuf.spec.ro_pairs import neighbour_pairs

N_RO = 256
GATE = 1024


def array_env(dut: ROArray, cases_file) -> dict[str, str]:
    return {
        "ROPUF_RO_N": str(dut.n_ro),
        "ROPUF_RO_GATE": str(dut.gate_cycles),
        "ROPUF_RO_COUNT_WIDTH": str(dut.count_width),
        "ROPUF_RO_SOFT_WIDTH": str(dut.soft_width),
        "ROPUF_RO_CASES": str(cases_file),
    }


def _cases(dies, corners, extra_pairs: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    cases = []
    for die_seed in dies:
        for temperature, voltage in corners:
            pairs = neighbour_pairs(N_RO)
            pairs += [tuple(rng.sample(range(N_RO), 2)) for _ in range(extra_pairs)]
            pairs += [(5, 5), (0, N_RO)]  # invalid: reported, not measured
            cases.append(
                {
                    "die_seed": die_seed,
                    "temperature": temperature,
                    "voltage": voltage,
                    "noise_seed": rng.getrandbits(32),
                    "pairs": pairs,
                }
            )
    return cases


@pytest.mark.sim
def test_ro_array_equals_model_over_dies_and_corners(tmp_path):
    dut = ROArray(n_ro=N_RO, gate_cycles=GATE, simulation=True)
    build = harness.build(dut, f"ro_array_{N_RO}_g{GATE}")
    cases = _cases((1, 2, 3), ((25.0, 1.2), (-20.0, 1.14), (85.0, 1.26)), extra_pairs=8)
    cases_file = tmp_path / "cases.json"
    cases_file.write_text(json.dumps(cases))
    result = harness.run(build, "ropuf.sim.testbenches.ro_array", env=array_env(dut, cases_file))
    assert result.tests == 1


@pytest.mark.sim
@pytest.mark.icarus
def test_ro_array_icarus(tmp_path):
    # Icarus runs the same design and testbench (fewer pairs: it is slower).
    dut = ROArray(n_ro=N_RO, gate_cycles=GATE, simulation=True)
    build = harness.build(dut, f"ro_array_{N_RO}_g{GATE}", simulator="icarus")
    cases = _cases((4,), ((85.0, 1.26),), extra_pairs=4)
    for case in cases:
        case["pairs"] = case["pairs"][::8] + case["pairs"][-6:]
    cases_file = tmp_path / "cases.json"
    cases_file.write_text(json.dumps(cases))
    result = harness.run(build, "ropuf.sim.testbenches.ro_array", env=array_env(dut, cases_file))
    assert result.tests == 1
