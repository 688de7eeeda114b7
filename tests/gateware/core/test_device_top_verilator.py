"""The simulated board's device top through its UART, in Verilator and in Icarus, against the
fast model device: the design the speed benchmark (benchmarks/bench_sim_speed.py) runs."""

import json

import pytest

from ropuf.sim import harness
from ropuf.sim.board import SIM_DEVICE, Condition, _design, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.spec import commands, framing
from ropuf.spec.commands import Command
from ropuf.spec.ro_pairs import neighbour_pairs

CONDITION = Condition(die_seed=7, temperature=85.0, voltage=1.26, noise_seed=9)


@pytest.mark.sim
@pytest.mark.parametrize(
    "simulator", ["verilator", pytest.param("icarus", marks=pytest.mark.icarus)]
)
def test_device_top_answers_as_the_model(simulator, tmp_path):
    pairs = [*neighbour_pairs(SIM_DEVICE.n_ro)[100:103], (9, 9)]
    frames = [
        framing.encode_frame(1, Command.INFO),
        framing.encode_frame(2, Command.READ_RO, commands.encode_read_ro_request(pairs)),
        framing.encode_frame(3, 0x66, b"abc"),
    ]
    fast = FastDevice(device_model(CONDITION))
    expected = []
    for frame in frames:
        fast.send(frame)
        expected.append(fast.receive(0).hex())
    (tmp_path / "frames.json").write_text(json.dumps([frame.hex() for frame in frames]))
    design, name, env = _design()
    build = harness.build(design, name, simulator=simulator)
    env = {
        **env,
        "ROPUF_SPEED_FRAMES": str(tmp_path / "frames.json"),
        "ROPUF_RESULT": str(tmp_path / "result.json"),
        "ROPUF_DIE_SEED": str(CONDITION.die_seed),
        "ROPUF_TEMPERATURE": str(CONDITION.temperature),
        "ROPUF_VOLTAGE": str(CONDITION.voltage),
        "ROPUF_NOISE_SEED": str(CONDITION.noise_seed),
    }
    harness.run(build, "ropuf.sim.testbenches.device_speed", env=env)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["answers"] == expected
    assert result["cycles"] > len(pairs) * SIM_DEVICE.gate_cycles
