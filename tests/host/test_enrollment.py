"""Enrollment on the fast model device: reads, pooling, refusals, verification, registration."""

import contextlib
from dataclasses import replace

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host.attestation import Verifier
from ropuf.host.client import DeviceClient
from ropuf.host.enrollment import EnrollmentError, enroll_device, read_counts
from ropuf.host.fuzzy import pair_soft
from ropuf.host.keygen import enrol
from ropuf.host.registry import Registry, RegistryError
from ropuf.sim.board import SIM_DEVICE, Condition, device_model
from ropuf.sim.fast_device import FastDevice
from ropuf.sim.ro_measure import measure_pairs
from ropuf.sim.sources import FastModelSource, simulated_sources
from ropuf.spec.code_params import CHOSEN
from ropuf.spec.commands import Command, Mode, Status
from ropuf.spec.helper_data import HelperData

MASTER = bytes(range(32))


@pytest.fixture
def registry(tmp_path):
    with Registry(tmp_path / "r.db", MASTER) as reg:
        yield reg


@pytest.fixture(scope="module")
def owner():
    return Ed25519PrivateKey.generate()


class ClientSource:
    """One device that keeps its state between openings (as a real board does)."""

    def __init__(self, client: DeviceClient, label: str = "test device", log=None):
        self.client = client
        self.label = label
        self.log = [] if log is None else log

    def open(self):
        self.log.append(self.label)
        return contextlib.nullcontext(self.client)


class Untouchable:
    label = "never opened"

    def open(self):
        raise AssertionError("the device was opened")


class Misbehaving(FastDevice):
    """Answers RECONSTRUCT or ATTEST wrongly; everything else as the model."""

    def __init__(self, model, *, reconstruct=None, mac=None):
        super().__init__(model)
        handle = model.handle

        def patched(code, payload):
            if code == Command.RECONSTRUCT and reconstruct is not None:
                return reconstruct, b""
            status, answer = handle(code, payload)
            if code == Command.ATTEST and mac is not None and status == Status.OK:
                return status, mac
            return status, answer

        model.handle = patched


def fast_client(condition=None, params=SIM_DEVICE) -> DeviceClient:
    condition = condition or Condition(die_seed=3)
    return DeviceClient(FastDevice(device_model(condition, params)), timeout=0.1)


def test_enrolled_device_is_registered_and_attests(registry, owner, tmp_path, sim_design_offsets):
    # The board's build holds the simulated design's offsets; enrollment is given the same.
    source = FastModelSource(Condition(die_seed=3))
    seen = []
    offsets = sim_design_offsets
    report = enroll_device(
        "die-3",
        [source],
        registry,
        owner,
        reads=4,
        thresholds=offsets,
        progress=lambda *a: seen.append(a),
    )
    assert seen == [(i, 5) for i in range(1, 6)]  # 4 reads, then the verification
    assert report.device_id == "die-3" and report.reads == 4
    assert report.conditions == ("die 3 at 25 C, nominal (fast model)",)
    assert report.pairs == 208 and report.ros == 832
    assert report.account.remaining >= 128 and not report.locked
    record = registry.record("die-3")
    helper = HelperData.from_bytes(record.helper_data)
    assert report.helper_bytes == len(record.helper_data) == 368 and helper.params == CHOSEN
    # The pairs are ranked on the counts less the build's offsets (nothing of them in the
    # record): a die whose design part dominates would give other pairs without them.
    assert any(offsets[a] != offsets[b] for a, b in helper.pairs)
    assert record.owner_public_key == owner.public_key().public_bytes_raw()
    assert record.puf["n_ro"] == SIM_DEVICE.n_ro and record.puf["code"]["k"] == CHOSEN.k
    enrolled = {"conditions": list(report.conditions), "reads_per_condition": 4}
    assert record.puf["enrollment"] == enrolled
    # The key is nowhere in the report (and, checked below, in the registry encrypted only).
    key = registry.attestation_key("die-3")
    assert key.hex() not in repr(report) and str(key) not in repr(report)
    # A fresh device of the same die (other noise) reconstructs it and attests.
    again = FastModelSource(Condition(die_seed=3, noise_seed=99)).open()
    assert Verifier(registry).attest_enrolled("die-3", again).ok
    other = FastModelSource(Condition(die_seed=4)).open()
    result = Verifier(registry).attest_enrolled("die-3", other)
    assert not result.ok and "KEY_CHECK_FAILED" in result.reason
    # Only after close is every row in the database file: while the registry is open in WAL
    # mode, fresh rows sit in r.db-wal, and a check of r.db alone passes whatever is written.
    registry.close()
    files = sorted(tmp_path.glob("r.db*"))
    assert tmp_path / "r.db" in files
    for path in files:
        assert key not in path.read_bytes() and key.hex().encode() not in path.read_bytes()


def test_conditions_are_pooled_and_the_first_is_verified(registry, owner):
    points = [(25.0, None), (85.0, 1.14), (-20.0, 1.26)]
    sources = simulated_sources(5, points, noise_seed=11)
    order = []
    tracked = [ClientSource(s.open(), s.label, order) for s in sources]
    report = enroll_device("die-5", tracked, registry, owner, reads=3)
    # Other conditions first, the first one last (it stays open for the verification).
    assert order == [sources[1].label, sources[2].label, sources[0].label]
    assert report.conditions == tuple(s.label for s in sources)
    assert [s.condition.noise_seed for s in sources] == [11, 12, 13]
    # The pairs are what keygen ranks from the reads of all three conditions together.
    pooled = np.concatenate([read_counts(s.open(), CHOSEN.ros, 3) for s in sources])
    expected = enrol(pooled, CHOSEN, n_ro=SIM_DEVICE.n_ro).helper.pairs
    alone = enrol(pooled[:3], CHOSEN, n_ro=SIM_DEVICE.n_ro).helper.pairs
    assert HelperData.from_bytes(registry.record("die-5").helper_data).pairs == expected
    assert expected != alone  # pooling changed the pairs


def test_read_counts_give_both_counts_and_the_device_soft_values():
    params = replace(SIM_DEVICE, soft_width=6, code=None, identity=False)
    condition = Condition(die_seed=8, noise_seed=4)
    counts = read_counts(fast_client(condition, params), 200, 2)
    soft = pair_soft(counts, [(2 * i, 2 * i + 1) for i in range(100)], 6)
    model = device_model(condition, params)
    pairs = [(2 * i, 2 * i + 1) for i in range(100)] * 2
    results, _ = measure_pairs(
        model.rates,
        pairs,
        model.config,
        seed=4,
        noise_scale=model.noise_scale,
        common_scale=model.common_scale,
    )
    assert counts.shape == (2, 200) and counts.dtype == np.int64
    assert counts[:, 0::2].ravel().tolist() == [r.count_a for r in results]
    assert counts[:, 1::2].ravel().tolist() == [r.count_b for r in results]
    # The soft values taken from them saturate as the device's own do.
    assert soft.ravel().tolist() == [r.soft for r in results]
    assert np.abs(soft).max() == 31 and 0 < np.mean(np.abs(soft) == 31) < 1
    raw = [r.count_a - r.count_b for r in results]
    assert max(abs(d) for d in raw) > 31  # saturation really happened


def test_refuses_a_locked_device_with_the_reason(registry, owner):
    client = fast_client()
    client.lock()
    with pytest.raises(EnrollmentError, match=r"is locked: .*reconfigured.*before sending LOCK"):
        enroll_device("die-3", [ClientSource(client)], registry, owner, reads=2)
    assert registry.devices() == []


def test_refuses_a_deployment_build_with_the_reason(registry, owner):
    client = fast_client(params=replace(SIM_DEVICE, variant="deployment"))
    assert client.info().mode == Mode.DEPLOYMENT
    with pytest.raises(EnrollmentError, match=r"deployment build, which has no raw readout"):
        enroll_device("die-3", [ClientSource(client)], registry, owner, reads=2)
    assert registry.devices() == []


def test_refuses_unfit_builds(registry, owner):
    small = fast_client(
        params=replace(SIM_DEVICE, n_ro=768, code=None, offsets=None, identity=False)
    )
    with pytest.raises(EnrollmentError, match=r"has no key path \(its INFO names no key const"):
        enroll_device("a", [ClientSource(small)], registry, owner, reads=2)
    with pytest.raises(
        EnrollmentError, match=r"has 768 ROs; .*pairs 208 from batches of 64 .*needs 832"
    ):
        enroll_device("a", [ClientSource(small)], registry, owner, reads=2, params=CHOSEN)
    other_gate = replace(SIM_DEVICE, gate_cycles=2048)
    sources = [ClientSource(fast_client()), ClientSource(fast_client(params=other_gate))]
    with pytest.raises(EnrollmentError, match="runs another build"):
        enroll_device("a", sources, registry, owner, reads=2)
    assert registry.devices() == []


def test_refuses_before_reading(registry, owner):
    enroll_device("die-3", [FastModelSource(Condition(die_seed=3))], registry, owner, reads=2)
    with pytest.raises(RegistryError, match="'die-3' is already enrolled"):
        enroll_device("die-3", [Untouchable()], registry, owner, reads=2)
    with pytest.raises(ValueError, match="at least 2 reads per condition, not 1"):
        enroll_device("x", [Untouchable()], registry, owner, reads=1)
    with pytest.raises(ValueError, match="non-empty name"):
        enroll_device(" ", [Untouchable()], registry, owner)
    with pytest.raises(ValueError, match="at least one device source"):
        enroll_device("x", [], registry, owner)


def test_entropy_and_bias_refusals_come_from_keygen(registry, owner, sim_design_offsets):
    source = FastModelSource(Condition(die_seed=3))
    with pytest.raises(EnrollmentError, match=r"Response bias 0\.\d+ is further from 0\.5"):
        enroll_device("die-3", [source], registry, owner, reads=2, max_bias=0.005)
    with pytest.raises(EnrollmentError, match=r"Entropy account .* is below 128"):
        enroll_device("die-3", [source], registry, owner, reads=2, design_min_entropy=0.5)
    # Die 1's own spatial gradient biases its rank pairs (a third ones): refused by default.
    biased = FastModelSource(Condition(die_seed=1))
    with pytest.raises(EnrollmentError, match=r"Response bias 0\.3[34]\d is further .* 0\.15$"):
        enroll_device("die-1", [biased], registry, owner, reads=2, thresholds=sim_design_offsets)
    assert registry.devices() == []


def test_a_failed_verification_registers_nothing(registry, owner):
    model = device_model(Condition(die_seed=3))
    client = DeviceClient(Misbehaving(model, reconstruct=Status.KEY_CHECK_FAILED), timeout=0.1)
    with pytest.raises(EnrollmentError, match=r"verification failed: .*KEY_CHECK_FAILED.*more"):
        enroll_device("die-3", [ClientSource(client)], registry, owner, reads=2)
    model = device_model(Condition(die_seed=3))
    client = DeviceClient(Misbehaving(model, reconstruct=Status.BAD_HELPER), timeout=0.1)
    with pytest.raises(EnrollmentError, match=r"rejects the helper data \(BAD_HELPER\)"):
        enroll_device("die-3", [ClientSource(client)], registry, owner, reads=2)
    model = device_model(Condition(die_seed=3))
    client = DeviceClient(Misbehaving(model, mac=bytes(32)), timeout=0.1)
    with pytest.raises(EnrollmentError, match="does not match the derived attestation key"):
        enroll_device("die-3", [ClientSource(client)], registry, owner, reads=2)
    keyless = fast_client(params=replace(SIM_DEVICE, code=None, identity=False))
    with pytest.raises(EnrollmentError, match="has no key path"):
        enroll_device("die-3", [ClientSource(keyless)], registry, owner, reads=2)
    assert registry.devices() == []


def test_lock_after_enrollment(registry, owner):
    source = ClientSource(fast_client())
    report = enroll_device("die-3", [source], registry, owner, reads=2, lock=True)
    assert report.locked and source.log == ["test device"]
    assert source.client.info().mode == Mode.LOCKED
    # Locked: no raw readout, but the key path still works.
    assert Verifier(registry).attest_enrolled("die-3", source.client).ok


def test_a_bad_offsets_file_is_refused_before_any_read(registry, owner, tmp_path):
    from ropuf.host.design_offsets import DesignOffsetsError

    short = tmp_path / "short.json"
    short.write_text(
        '{"kind": "ropuf design RO offsets", "version": 1, "gate_cycles": 1024, "offsets": [1]}'
    )
    old = tmp_path / "old.json"
    old.write_text('{"kind": "ropuf design thresholds", "gate_cycles": 1024, "thresholds": [1]}')
    for path, message in (
        (short, "holds 1 RO offsets; the key construction uses 832 ROs"),
        (old, "per-pair thresholds of the neighbour-pair construction"),
        (tmp_path / "missing.json", "cannot read design offsets"),
    ):
        with pytest.raises(DesignOffsetsError, match=message):
            enroll_device(
                "x", [Untouchable()], registry, owner, reads=2, params=CHOSEN, thresholds=path
            )
    # With the construction taken from INFO, the file's size is checked once INFO is read.
    with pytest.raises(DesignOffsetsError, match="holds 1 RO offsets; the key construction uses"):
        enroll_device(
            "x", [ClientSource(fast_client())], registry, owner, reads=2, thresholds=short
        )
    # Offsets that do not fit the build's range are refused once the construction is known,
    # before anything is sent to the device but reads.
    with pytest.raises(DesignOffsetsError, match="outside"):
        enroll_device(
            "x", [ClientSource(fast_client())], registry, owner, reads=2, thresholds=[2.0**15] * 832
        )
    assert registry.devices() == []


def test_offsets_other_than_the_build_s_fail_the_verification(registry, owner, sim_design_offsets):
    # The device's build holds the simulated design's offsets: enrolled with offsets far from
    # them (errors much wider than the dies' own spread), the device takes other bits and
    # cannot reconstruct; the message says why. (Rank pairs have wide margins: small errors,
    # even the design's own offsets left out, rarely flip a bit.)
    source = FastModelSource(Condition(die_seed=3))
    error = np.random.default_rng(1).integers(-3000, 3000, len(sim_design_offsets))
    other = [int(v + e) for v, e in zip(sim_design_offsets, error, strict=True)]
    message = r"KEY_CHECK_FAILED\): the design offsets given \(--thresholds\) are not what its "
    with pytest.raises(EnrollmentError, match=message + "build holds"):
        enroll_device("die-3", [source], registry, owner, reads=4, thresholds=other)
    model = device_model(Condition(die_seed=3), SIM_DEVICE)  # a build without offsets
    client = DeviceClient(Misbehaving(model, reconstruct=Status.KEY_CHECK_FAILED), timeout=0.1)
    with pytest.raises(EnrollmentError, match=r"offsets are zero here, which is not what its"):
        enroll_device("die-3", [ClientSource(client)], registry, owner, reads=2)
    assert registry.devices() == []
    # The build's own (here as the counts a file holds, rounded per RO on the way): accepted.
    near = np.array(sim_design_offsets) + 0.3
    assert enroll_device("die-3", [source], registry, owner, reads=4, thresholds=near).ros == 832


def test_puf_facts_keys_values_and_order_are_pinned():
    # The enrollment record is owner-signed: its PUF facts keep these keys, values and order.
    from ropuf.host.enrollment import puf_facts
    from ropuf.spec.commands import Info

    info = Info(
        design_version=1, mode=Mode.ENROLLMENT, key_ready=False, n_ro=64, stages=5,
        count_width=18, soft_width=16, gate_cycles=4096, clock_hz=12_000_000,
        build_id=bytes.fromhex("0123456789abcdef"),
    )  # fmt: skip
    facts = puf_facts(info, CHOSEN, ["nominal", "hot"], 7)
    assert list(facts.items()) == [
        ("design_version", 1),
        ("build_id", "0123456789abcdef"),
        ("n_ro", 64),
        ("stages", 5),
        ("count_width", 18),
        ("soft_width", 16),
        ("gate_cycles", 4096),
        ("clock_hz", 12_000_000),
        ("code", {
            "rep": CHOSEN.rep, "gf_m": CHOSEN.gf_m, "t": CHOSEN.t, "n": CHOSEN.n,
            "k": CHOSEN.k, "batch": 64, "per_batch": 16, "ros": 832,
        }),
        ("enrollment", {"conditions": ["nominal", "hot"], "reads_per_condition": 7}),
    ]  # fmt: skip
    assert list(facts["code"]) == [
        "rep", "gf_m", "t", "n", "k", "batch", "per_batch", "ros",
    ]  # fmt: skip
