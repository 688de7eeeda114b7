"""CRP collection, the CRP table of the registry and one-time CRP authentication."""

import math

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ropuf.host.arbiter_attack import fit_xor_arbiter, predict
from ropuf.host.client import DeviceClient, DeviceError
from ropuf.host.crp import CRPError, collect_counts, collect_crps, collect_voted, evaluate
from ropuf.host.crp_auth import (
    CRPAuthError,
    authenticate,
    choose_threshold,
    draw_challenges,
    enrol,
)
from ropuf.host.registry import EnrollmentRecord, Registry, RegistryError
from ropuf.sim.arbiter_device import ArbiterDevice
from ropuf.sim.arbiter_fleet import crp_error_rates
from ropuf.sim.arbiter_model import ArbiterDie, gateware_responses, parity_features
from ropuf.sim.fast_device import FastDevice
from ropuf.spec import arbiter_command
from ropuf.spec.arbiter_command import ArbiterConfig, Form
from ropuf.spec.commands import Command, Status

MASTER = bytes(range(32))
N = 64


def device(die_seed, *, k=1, temperature=25.0, voltage=None, seed=1, allow_counts=True):
    die = ArbiterDie(die_seed, n_stages=N, k=k)
    return ArbiterDevice.for_die(
        die, allow_counts=allow_counts, temperature=temperature, voltage=voltage, seed=seed
    )


def open_registry(path, *device_ids) -> Registry:
    owner = Ed25519PrivateKey.generate()
    reg = Registry(path, MASTER)
    for device_id in device_ids:
        record = EnrollmentRecord(
            device_id, "2026-11-24T12:00:00+00:00", {"arbiter": [N, 1]}, b"",
            owner.public_key().public_bytes_raw(),
        )  # fmt: skip
        reg.enroll(record, bytes(32), owner)
    return reg


def test_collection_in_batches_equals_one_run_of_the_model():
    """100 challenges go out in 4 requests (31 a frame); the answers are those of one
    uninterrupted run of the same evaluations, over the client and framing and as a callable."""
    challenges = draw_challenges(100, N, np.random.default_rng(1))
    reference = device(3)
    ones = reference.counts(challenges, 7)
    client = DeviceClient(FastDevice(device(3)))
    sent = []
    transport_send = client.transport.send
    client.transport.send = lambda frame: (sent.append(frame), transport_send(frame))[1]
    assert collect_counts(client, challenges, n_stages=N, votes=7).tolist() == ones.tolist()
    assert len(sent) == 4
    assert 0 < ones.sum() < 700 and set(np.unique(ones)) > {0, 7}  # some noisy challenges
    majority = (2 * reference.counts(challenges, 3) > 3).astype(np.uint8)
    got = collect_crps(client, challenges, n_stages=N, votes=3)
    assert got.dtype == np.uint8 and got.tolist() == majority.tolist()
    # The same through a handle-like callable.
    other = device(3)
    assert evaluate(other.handle, challenges, n_stages=N, votes=7, form=Form.COUNTS).tolist() == (
        ones.tolist()
    )
    # Noise-free, the answers are the die's own bits, computed without the model class.
    quiet = ArbiterDevice(reference.config, reference.weights, seed=1, noise_scale=0)
    clean, _, _ = gateware_responses(reference.weights, challenges, seed=1, noise_scale=0)
    assert collect_crps(quiet.handle, challenges, n_stages=N).tolist() == clean.tolist()


def test_host_voting_over_repeated_requests():
    challenges = draw_challenges(40, N, np.random.default_rng(2))
    noisy = device(4, temperature=85.0)
    bits, ones = collect_voted(noisy.handle, challenges, n_stages=N, repeats=5)
    assert ones.min() >= 0 and ones.max() <= 5
    assert bits.tolist() == (2 * ones > 5).astype(int).tolist()
    quiet = ArbiterDevice(noisy.config, noisy.weights, seed=1, noise_scale=0)
    bits, ones = collect_voted(quiet.handle, challenges, n_stages=N, repeats=3)
    assert set(ones.tolist()) <= {0, 3}
    with pytest.raises(ValueError, match="odd number of repeats, not 4"):
        collect_voted(quiet.handle, challenges, n_stages=N, repeats=4)


def test_refusals_raise_clear_errors():
    challenges = draw_challenges(3, N, np.random.default_rng(3))
    plain = device(5, allow_counts=False)
    with pytest.raises(CRPError, match="status 0x11 BAD_PAYLOAD"):
        collect_counts(plain.handle, challenges, n_stages=N, votes=3)
    with pytest.raises(DeviceError, match="rejected the request's payload"):
        collect_counts(DeviceClient(FastDevice(plain)), challenges, n_stages=N, votes=3)
    locked = device(5)
    with pytest.raises(CRPError, match="LOCKED"):
        collect_counts(
            lambda code, payload: locked.handle(code, payload, locked=True),
            challenges,
            n_stages=N,
            votes=3,
        )
    with pytest.raises(ValueError, match=r"shape \(count, 8\)"):
        collect_crps(plain.handle, challenges[:, :4], n_stages=N)
    with pytest.raises(ValueError, match="odd number of votes, not 2"):
        collect_crps(plain.handle, challenges, n_stages=N, votes=2)
    with pytest.raises(CRPError, match="does not parse"):
        collect_crps(lambda code, payload: (Status.OK, b"\x00\x00"), challenges, n_stages=N)
    with pytest.raises(TypeError, match="request"):
        collect_crps(42, challenges, n_stages=N)
    assert plain.handle(Command.INFO, b"") == (Status.UNKNOWN_COMMAND, b"")


def test_spec_codecs():
    config = ArbiterConfig(12, 1, allow_counts=True)
    payload = arbiter_command.encode_request([0xFFF, 1], n_stages=12, votes=3)
    assert payload == bytes([0, 3, 0xFF, 0x0F, 1, 0])
    assert arbiter_command.decode_request(payload, config).challenges == (0xFFF, 1)
    with pytest.raises(arbiter_command.ArbiterRequestError, match="bits set past stage 11"):
        arbiter_command.decode_request(payload[:3] + b"\x1f" + payload[4:], config)
    assert arbiter_command.encode_response(Form.MAJORITY, [1, 0, 1] * 3) == bytes([0x6D, 0x01])
    assert arbiter_command.decode_response(bytes([0x6D, 0x01]), form=Form.MAJORITY, count=9) == (
        [1, 0, 1] * 3
    )
    with pytest.raises(ValueError, match="padding bits set"):
        arbiter_command.decode_response(bytes([0x6D, 0x03]), form=Form.MAJORITY, count=9)
    with pytest.raises(ValueError, match=r"takes 1\.\.31 challenges, not 32"):
        arbiter_command.encode_request([0] * 32, n_stages=64)
    with pytest.raises(ValueError, match="does not fit 12 bits"):
        arbiter_command.encode_request([4096], n_stages=12)
    assert arbiter_command.max_challenges(64) == 31 and arbiter_command.max_challenges(1) == 254
    with pytest.raises(TypeError, match="allow_counts must be a bool"):
        ArbiterConfig(64, 1, "yes")


def test_threshold_is_the_equal_error_point_of_the_binomials():
    n, intra, inter = 20, 0.05, 0.5

    def pmf(i, p):
        return math.comb(n, i) * p**i * (1 - p) ** (n - i)

    choice = choose_threshold(n, intra, inter, votes=3)
    frr = [sum(pmf(i, intra) for i in range(t + 1, n + 1)) for t in range(n + 1)]
    far = [sum(pmf(i, inter) for i in range(t + 1)) for t in range(n + 1)]
    worst = [max(a, b) for a, b in zip(frr, far, strict=True)]
    assert choice.max_errors == int(np.argmin(worst))
    assert choice.false_reject == pytest.approx(frr[choice.max_errors], rel=1e-9)
    assert choice.false_accept == pytest.approx(far[choice.max_errors], rel=1e-9)
    assert choice.fraction == choice.max_errors / n and choice.votes == 3
    # Tiny tails survive (no 1 - cdf cancellation), and more bits separate better.
    big = choose_threshold(128, 0.02)
    assert 0 < big.false_reject < 1e-12 and 0 < big.false_accept < 1e-12
    assert choose_threshold(64, 0.02).false_accept > big.false_accept
    # Several inter-chip rates (pairs of dies): the false accepts are their mean.
    mixed = choose_threshold(n, intra, [0.4, 0.6])
    far_of = [[sum(pmf(i, p) for i in range(t + 1)) for t in range(n + 1)] for p in (0.4, 0.6)]
    assert mixed.false_accept == pytest.approx(
        (far_of[0][mixed.max_errors] + far_of[1][mixed.max_errors]) / 2, rel=1e-9
    )
    assert mixed.inter_hd == pytest.approx(0.5) and mixed.false_accept > far[mixed.max_errors]
    with pytest.raises(ValueError, match="no threshold tells this device from others"):
        choose_threshold(64, 0.5, 0.4)
    with pytest.raises(ValueError, match=r"n_bits must be an integer in 1\.\.4096, not 0"):
        choose_threshold(0, 0.1)


def test_fleet_error_rates_drive_the_threshold():
    plain = crp_error_rates(k=1, n_dies=12, n_challenges=600, stable_only=False)
    stable = crp_error_rates(k=1, n_dies=12, n_challenges=600, stable_only=True)
    xor4 = crp_error_rates(k=4, n_dies=12, n_challenges=600, stable_only=True)
    assert plain.kept == 1.0 and 0.8 < stable.kept < 0.97 and xor4.kept < stable.kept
    for rates in (plain, stable, xor4):
        assert 0.45 < rates.inter < 0.55 and len(rates.inter_pairs) == 12 * 11
        assert min(rates.inter_pairs) < rates.inter < max(rates.inter_pairs)
        assert rates.worst_intra == max(rates.intra_worst_die.values())
        corner = rates.worst_corner
        assert rates.intra[corner] <= rates.intra_worst_die[corner]
        assert rates.intra["25 C, 1.20 V"] < rates.intra[corner]
    # Keeping only stable challenges cuts the errors a verifier sees, at every corner.
    assert all(stable.intra[c] < plain.intra[c] for c in plain.intra)
    assert xor4.intra[xor4.worst_corner] > stable.intra[stable.worst_corner]
    with pytest.raises(ValueError, match="odd vote counts"):
        crp_error_rates(k=1, auth_votes=2)


def test_enrol_then_authenticate_once_per_challenge(tmp_path):
    rng = np.random.default_rng(5)
    threshold = choose_threshold(64, 0.02, votes=5)
    with open_registry(tmp_path / "r.db", "arb-a", "arb-b") as reg:
        result = enrol(reg, "arb-a", device(10), count=400, n_stages=N, rng=rng)
        assert result.drawn == 400 and 300 < result.stable == result.stored < 400
        assert reg.crp_counts("arb-a") == (result.stored, 0)

        asked = []

        def spy(target):
            def send(code, payload):
                asked.append(payload)
                return target.handle(code, payload)

            return send

        hot = device(10, temperature=85.0, voltage=1.26, seed=9)
        genuine = authenticate(reg, "arb-a", spy(hot), n_stages=N, threshold=threshold)
        assert genuine.accepted and genuine.n_bits == 64 and genuine.errors <= 3
        impostor = authenticate(reg, "arb-a", spy(device(11)), n_stages=N, threshold=threshold)
        assert not impostor.accepted and 0.3 < impostor.distance < 0.7
        assert reg.crp_counts("arb-a") == (result.stored - 128, 128)
        # No challenge was asked twice.
        challenges = [p[2 + 8 * i : 10 + 8 * i] for p in asked for i in range((len(p) - 2) // 8)]
        assert len(challenges) == 128 == len(set(challenges))
        assert all(p[:2] == bytes([Form.MAJORITY, 5]) for p in asked)

        # Too few left: refused, and nothing is spent by the refusal.
        left = result.stored - 128
        with pytest.raises(RegistryError, match=f"has {left} unused CRPs, {left + 1} needed"):
            reg.take_crps("arb-a", left + 1)
        assert reg.crp_counts("arb-a") == (left, 128)

        # A device that fails mid-way still spends its CRPs (marked before asking).
        def broken(code, payload):
            raise DeviceError(Status.BAD_PAYLOAD, "ARBITER")

        with pytest.raises(DeviceError):
            authenticate(reg, "arb-a", broken, n_stages=N, threshold=threshold)
        assert reg.crp_counts("arb-a") == (left - 64, 192)
        with pytest.raises(CRPAuthError, match="another stage count than 32"):
            authenticate(reg, "arb-a", hot.handle, n_stages=32, threshold=threshold)
        # A device without COUNTS cannot be enrolled; an unknown device has no CRPs.
        with pytest.raises(CRPError, match="BAD_PAYLOAD"):
            enrol(reg, "arb-b", device(11, allow_counts=False).handle, count=10, n_stages=N)
        with pytest.raises(RegistryError, match="'arb-z' is not enrolled"):
            enrol(reg, "arb-z", device(12).handle, count=10, n_stages=N)
        with pytest.raises(CRPAuthError, match="enrol_votes must be odd"):
            enrol(reg, "arb-b", device(11).handle, count=10, n_stages=N, enrol_votes=4)


def test_a_learned_model_passes_crp_authentication(tmp_path):
    """Why docs/arbiter-puf.md says 'for study': 2,000 eavesdropped CRPs of a single chain
    give a model that the verifier accepts."""
    rng = np.random.default_rng(6)
    victim = device(20)
    heard = draw_challenges(2000, N, rng)
    bits = collect_crps(victim.handle, heard, n_stages=N)
    model = fit_xor_arbiter(parity_features(heard, N, np.float32), bits, 1, seed=1)

    def clone(code, payload):
        request = arbiter_command.decode_request(payload, ArbiterConfig(N, 1))
        packed = np.frombuffer(
            b"".join(c.to_bytes(8, "little") for c in request.challenges), np.uint8
        ).reshape(-1, 8)
        answers = predict(model.weights, parity_features(packed, N, np.float32))
        return Status.OK, arbiter_command.encode_response(Form.MAJORITY, answers.tolist())

    threshold = choose_threshold(128, 0.02, votes=5)
    with open_registry(tmp_path / "r.db", "arb-v") as reg:
        enrol(reg, "arb-v", device(20, seed=3), count=600, n_stages=N, rng=rng)
        result = authenticate(reg, "arb-v", clone, n_stages=N, threshold=threshold)
    assert result.accepted, f"the model erred on {result.errors} of 128"
