# amaranth: UnusedElaboratable=no
"""The ARBITER handler in Amaranth's simulator, request by request against its Python model.

The tests drive the handler's port as the command processor does
(:mod:`ropuf.gateware.core.handler`): pulse ``start`` with the code, length and lock state,
offer exactly ``length`` payload bytes, wait for ``done``, then take exactly ``out_length``
answer bytes. Every answer is compared with
:class:`ropuf.sim.arbiter_device.ArbiterDevice` loaded with the same weights and noise seed.
"""

import random

import numpy as np
import pytest
from amaranth.back import rtlil
from amaranth_boards.icebreaker import ICEBreakerPlatform
from amaranth_boards.ulx3s import ULX3S_85F_Platform

from ropuf.gateware.arbiter.handler import ArbiterHandler
from ropuf.sim import arbiter_model
from ropuf.sim.arbiter_device import ArbiterDevice
from ropuf.sim.arbiter_handler_driver import drive
from ropuf.spec import arbiter_command
from ropuf.spec.arbiter_command import ArbiterConfig, Form
from ropuf.spec.commands import Command, Status


def model_answers(model, requests):
    return [model.handle(code, payload, locked=locked) for code, payload, locked in requests]


def die_load(n_stages, k, die_seed, noise_factor=4):
    die = arbiter_model.ArbiterDie(die_seed, n_stages=n_stages, k=k)
    load = arbiter_model.sim_load(die, 85.0, 1.14)
    return load.weights, load.noise_scale * noise_factor


def challenge_list(rng, count, n_stages):
    return [rng.getrandbits(n_stages) for _ in range(count)]


def test_constructor_checks():
    with pytest.raises(TypeError, match="Stage count must be an integer, not '64'"):
        ArbiterHandler(n_stages="64")
    with pytest.raises(ValueError, match=r"Stage count must be in 1\.\.256, not 0"):
        ArbiterHandler(n_stages=0)
    with pytest.raises(ValueError, match=r"Chain count must be in 1\.\.8, not 9"):
        ArbiterHandler(k=9)
    with pytest.raises(TypeError, match="allow_counts must be a bool, not 1"):
        ArbiterHandler(allow_counts=1)
    with pytest.raises(ValueError, match=r"Settle cycles must be in 2\.\.255, not 1"):
        ArbiterHandler(settle_cycles=1)
    with pytest.raises(ValueError, match="simulation body takes no placement"):
        ArbiterHandler(simulation=True, placement=object())
    with pytest.raises(TypeError, match="config must be an ArbiterConfig"):
        ArbiterDevice((64, 1), [[0] * 65], seed=1, noise_scale=0)
    with pytest.raises(ValueError, match="The build has 2 chains, the weights 1"):
        ArbiterDevice(ArbiterConfig(64, 2), [[0] * 65], seed=1, noise_scale=0)
    dut = ArbiterHandler(simulation=True)
    assert "sim" in dut.signature.members and dut.config == ArbiterConfig(64, 1, False)
    assert "sim" not in ArbiterHandler().signature.members


def test_board_bodies_come_from_the_platform():
    """Without ``simulation`` the PUF's body is the platform's: placed SB_LUT4 stages on iCE40,
    LUT4 stages on ECP5 (two per stage, 16 stages, 2 chains); no ``sim`` port either way."""
    ice40 = rtlil.convert(ArbiterHandler(n_stages=16, k=2), platform=ICEBreakerPlatform())
    ecp5 = rtlil.convert(ArbiterHandler(n_stages=16, k=2), platform=ULX3S_85F_Platform())
    assert ice40.count("cell \\SB_LUT4") >= 2 * 16 * 2 and "TRELLIS" not in ice40
    assert ecp5.count("cell \\LUT4") >= 2 * 16 * 2 and "SB_LUT4" not in ecp5
    assert "sim__weight" not in ice40 + ecp5
    with pytest.raises(ValueError, match="without a platform has no chains"):
        rtlil.convert(ArbiterHandler(n_stages=4))
    with pytest.raises(ValueError, match=r"simulation body .* cannot be built for"):
        rtlil.convert(ArbiterHandler(n_stages=4, simulation=True), platform=ICEBreakerPlatform())


def test_answers_equal_the_model_and_the_float_die():
    n, k = 64, 2
    weights, scale = die_load(n, k, die_seed=5)
    rng = random.Random(1)
    config = ArbiterConfig(n, k, allow_counts=True)
    dut = ArbiterHandler(n_stages=n, k=k, allow_counts=True, simulation=True)
    full = challenge_list(rng, 31, n)
    requests = [
        (Command.ARBITER, arbiter_command.encode_request(full, n_stages=n), False),
        (Command.ARBITER, arbiter_command.encode_request(full[:1], n_stages=n, votes=3), False),
        (Command.ARBITER, arbiter_command.encode_request(full[:9], n_stages=n, votes=5), True),
        (
            Command.ARBITER,
            arbiter_command.encode_request(full[:12], n_stages=n, votes=6, form=Form.COUNTS),
            False,
        ),
        (
            Command.ARBITER,
            arbiter_command.encode_request(full[:3], n_stages=n, form=Form.COUNTS),
            True,
        ),
        (Command.ARBITER, bytes([0, 2]) + bytes(8), False),  # even votes, majority
        (Command.ARBITER, bytes([2, 1]) + bytes(8), False),  # unknown form
        (Command.ARBITER, bytes([0, 0]) + bytes(8), False),  # no votes
        (Command.ARBITER, bytes([1, 255]) + full[0].to_bytes(8, "little"), False),
        (Command.INFO, b"", False),  # not ours: unknown, whatever the payload
        (Command.ARBITER, arbiter_command.encode_request(full[:2], n_stages=n), False),
    ]
    model = ArbiterDevice(config, weights, seed=77, noise_scale=scale)
    got = drive(dut, weights, requests, seed=77, noise_scale=scale)
    assert [(s, a) for s, a, _ in got] == model_answers(model, requests)
    statuses = [s for s, _, _ in got]
    assert statuses == [
        Status.OK, Status.OK, Status.OK, Status.OK, Status.LOCKED, Status.BAD_PAYLOAD,
        Status.BAD_PAYLOAD, Status.BAD_PAYLOAD, Status.OK, Status.UNKNOWN_COMMAND, Status.OK,
    ]  # fmt: skip
    counts = arbiter_command.decode_response(got[3][1], form=Form.COUNTS, count=12)
    assert all(0 <= c <= 6 for c in counts) and 0 < sum(counts) < 72
    assert len(got[8][1]) == 1  # one count byte, up to 255

    # Without noise the majority is the die's own noise-free answer, computed independently.
    clean = drive(dut, weights, requests[:1], seed=77, noise_scale=0)
    packed = arbiter_model.challenges_from_ints(full, n)
    expected, _, _ = arbiter_model.gateware_responses(weights, packed, seed=1, noise_scale=0)
    bits = arbiter_command.decode_response(clean[0][1], form=Form.MAJORITY, count=31)
    assert bits == expected.tolist()
    assert 0 < sum(bits) < 31


def fuzz_requests(n, seed):
    """ARBITER requests of every length 0..256, random contents with headers near the valid
    ones (a fifth of them from a locked device); the longest valid request is among them, and
    a COUNTS request locked and unlocked ends them."""
    rng = random.Random(seed)
    width, most = arbiter_command.challenge_bytes(n), arbiter_command.max_challenges(n)
    requests = []
    for length in range(0, 257):
        payload = bytearray(rng.randrange(256) for _ in range(length))
        if length >= 1:
            payload[0] = rng.choice((0, 0, 0, 1, 2, 255))
        if length >= 2:
            payload[1] = rng.choice((0, 1, 2, 3, 4))
        longest = length == arbiter_command.HEADER_BYTES + width * most
        if longest:  # the longest valid request, once
            payload[:2] = bytes([rng.choice((0, 1)), 1])
        if longest or (length <= 64 and rng.random() < 0.3):  # clear the padding bits
            for start in range(arbiter_command.HEADER_BYTES, length - width + 1, width):
                payload[start + width - 1] &= (1 << (n - 8 * (width - 1))) - 1
        requests.append((Command.ARBITER, bytes(payload), rng.random() < 0.2))
    counts = arbiter_command.encode_request([1, 2], n_stages=n, votes=4, form=Form.COUNTS)
    return [*requests, (Command.ARBITER, counts, True), (Command.ARBITER, counts, False)]


#: (stages, allow_counts, seed): a build without COUNTS, and one with whose challenges have
#: padding bits (12 stages: two bytes, four bits past the last stage).
FUZZ_BUILDS = [(64, False, 3), (12, True, 4)]


@pytest.mark.parametrize(("n", "allow_counts", "seed"), FUZZ_BUILDS)
def test_every_length_like_the_model_in_constant_time(n, allow_counts, seed):
    weights, scale = die_load(n, 1, die_seed=n)
    requests = fuzz_requests(n, seed)
    config = ArbiterConfig(n, 1, allow_counts)
    dut = ArbiterHandler(n_stages=n, k=1, allow_counts=allow_counts, simulation=True)
    model = ArbiterDevice(config, weights, seed=seed, noise_scale=scale)

    def exact(code, payload, locked):
        """Refusals take the payload plus three cycles; answers take dut.cycles()."""
        try:
            request = arbiter_command.decode_request(payload, config, locked=locked)
        except arbiter_command.ArbiterRequestError:
            return len(payload) + 3
        return dut.cycles(len(payload), request.form, request.votes)

    # The bound is exact: a request that runs one cycle longer raises HungError.
    got = drive(dut, weights, requests, seed=seed, noise_scale=scale, limit=exact)
    assert [(s, a) for s, a, _ in got] == model_answers(model, requests)
    statuses = [s for s, _, _ in got]
    assert statuses.count(Status.OK) >= 4 and statuses.count(Status.BAD_PAYLOAD) >= 200
    if allow_counts:
        assert Status.LOCKED in statuses and any(
            p[0] == Form.COUNTS
            for (_, p, _), s in zip(requests, statuses, strict=True)
            if s == Status.OK
        )
    # Constant time: the cycles are those of the request's shape, whatever its contents.
    assert [c for _, _, c in got] == [exact(*request) for request in requests]


@pytest.mark.parametrize(("n", "allow_counts", "seed"), FUZZ_BUILDS)
def test_random_stalls_change_nothing(n, allow_counts, seed):
    weights, scale = die_load(n, 1, die_seed=n)
    requests = fuzz_requests(n, seed)[::6]
    dut = ArbiterHandler(n_stages=n, k=1, allow_counts=allow_counts, simulation=True)
    model = ArbiterDevice(ArbiterConfig(n, 1, allow_counts), weights, seed=seed, noise_scale=scale)
    rng = random.Random(seed)
    got = drive(dut, weights, requests, seed=seed, noise_scale=scale, rng=rng)
    assert [(s, a) for s, a, _ in got] == model_answers(model, requests)
    assert Status.OK in [s for s, _, _ in got]


def test_noise_state_carries_across_requests_and_refusals_leave_it():
    n = 32
    weights, scale = die_load(n, 3, die_seed=9, noise_factor=8)
    rng = random.Random(2)
    challenges = challenge_list(rng, 20, n)
    good = arbiter_command.encode_request(challenges, n_stages=n, votes=3)
    refused = bytes([0, 4]) + bytes(8)
    dut = ArbiterHandler(n_stages=n, k=3, simulation=True)
    a = drive(dut, weights, [(Command.ARBITER, good, False)] * 2, seed=5, noise_scale=scale)
    b = drive(
        dut,
        weights,
        [(Command.ARBITER, good, False), (Command.ARBITER, refused, False)] * 2,
        seed=5,
        noise_scale=scale,
    )
    assert a[0][1] != a[1][1], "noise must change some answers between requests"
    assert [b[0][1], b[2][1]] == [a[0][1], a[1][1]]
    model = ArbiterDevice(ArbiterConfig(n, 3), weights, seed=5, noise_scale=scale)
    assert model.handle(Command.ARBITER, good) == (Status.OK, a[0][1])
    assert model.handle(Command.ARBITER, refused) == (Status.BAD_PAYLOAD, b"")
    assert model.handle(Command.ARBITER, good) == (Status.OK, a[1][1])
    assert np.unpackbits(np.frombuffer(a[0][1], np.uint8)).any()
