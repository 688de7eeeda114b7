"""Enrollment refuses a device whose own predicted key failure is above the target, before
anything is verified, registered or locked; a normal simulated die passes."""

import contextlib

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host.client import DeviceClient
from ropuf.host.enrollment import MAX_KEY_FAILURE, EnrollmentError, enroll_device
from ropuf.host.registry import Registry
from ropuf.sim.board import Condition, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.sim.sources import FastModelSource

MASTER = bytes(range(32))


class NoisyClient(DeviceClient):
    """The fast model device with extra Gaussian noise on ring a's count: thin margins."""

    def __init__(self, condition: Condition, sigma: float, seed: int):
        super().__init__(FastDevice(device_model(condition)), timeout=0.1)
        self.rng = np.random.default_rng(seed)
        self.sigma = sigma
        self.commands = []

    def read_ro(self, pairs):
        noise = np.rint(self.sigma * self.rng.standard_normal(len(pairs))).astype(int)
        return [
            (a + int(e), b, overflow, invalid)
            for (a, b, overflow, invalid), e in zip(super().read_ro(pairs), noise, strict=True)
        ]

    def request(self, code, payload=b"", **options):
        self.commands.append(code)
        return super().request(code, payload, **options)


class NoisySource:
    def __init__(self, condition, sigma, seed=1):
        self.client = NoisyClient(condition, sigma, seed)
        self.label = f"noisy die {condition.die_seed}"

    def open(self):
        return contextlib.nullcontext(self.client)


@pytest.fixture
def registry(tmp_path):
    with Registry(tmp_path / "r.db", MASTER) as reg:
        yield reg


@pytest.fixture(scope="module")
def owner():
    return Ed25519PrivateKey.generate()


def test_thin_margins_are_refused_with_the_figure(registry, owner, sim_design_offsets):
    source = NoisySource(Condition(3), sigma=150.0)
    with pytest.raises(EnrollmentError) as refused:
        enroll_device("thin", [source], registry, owner, reads=5, thresholds=sim_design_offsets)
    message = str(refused.value)
    assert "predicted key failure is" in message and "above the target 1.0e-09" in message
    assert "noisy die 3" in message and "--max-key-failure" in message
    figure = float(message.split("predicted key failure is ")[1].split()[0])
    assert figure > MAX_KEY_FAILURE
    assert registry.devices() == []
    # Refused before the device saw the helper data: only INFO and READ_RO were sent.
    from ropuf.spec.commands import Command

    assert set(source.client.commands) <= {Command.INFO, Command.READ_RO}


def test_the_worst_condition_read_counts(registry, owner, sim_design_offsets):
    good = FastModelSource(Condition(3, 25.0, None, 1))
    noisy = NoisySource(Condition(3, 85.0, 1.14, 2), sigma=150.0)
    with pytest.raises(EnrollmentError, match="at noisy die 3, above the target"):
        enroll_device(
            "mixed", [good, noisy], registry, owner, reads=5, thresholds=sim_design_offsets
        )
    assert registry.devices() == []


def test_a_higher_target_accepts_the_same_device(registry, owner, sim_design_offsets):
    # Thin margins at the host (the device's own reconstruction reads are normal, so it
    # verifies): refused at the default target, accepted with a looser one.
    def enrol_with(**options):
        return enroll_device(
            "thin",
            [NoisySource(Condition(3), sigma=80.0)],
            registry,
            owner,
            reads=5,
            thresholds=sim_design_offsets,
            **options,
        )

    with pytest.raises(EnrollmentError, match="predicted key failure"):
        enrol_with()
    assert registry.devices() == []
    report = enrol_with(max_key_failure=1e-3)
    assert MAX_KEY_FAILURE < report.predicted_key_failure <= 1e-3
    assert registry.devices() == ["thin"]


def test_a_normal_die_passes_with_its_figure(registry, owner, sim_design_offsets):
    report = enroll_device(
        "die-3",
        [FastModelSource(Condition(3))],
        registry,
        owner,
        reads=5,
        thresholds=sim_design_offsets,
    )
    assert 0.0 <= report.predicted_key_failure <= MAX_KEY_FAILURE
    assert registry.devices() == ["die-3"]


@pytest.mark.parametrize("bad", [0.0, -1e-9, 1.5, float("nan"), True, "1e-9"])
def test_max_key_failure_must_be_a_probability(registry, owner, bad):
    message = r"max_key_failure, --max-key-failure\) must be a probability in \(0, 1\]"
    with pytest.raises(ValueError, match=message):
        enroll_device("x", [FastModelSource(Condition(3))], registry, owner, max_key_failure=bad)
