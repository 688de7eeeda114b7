"""The arbiter PUF models: the spec arithmetic, the vectorised delay model, the fleet figures."""

import math

import numpy as np
import pytest

from ropuf.sim import arbiter_model
from ropuf.sim.arbiter_fleet import CORNERS, characterise, majority
from ropuf.sim.arbiter_model import DEFAULT_ARBITER_PARAMS, ArbiterDie, ArbiterParams
from ropuf.spec import arbiter_behavioural


def reference_features(bits: np.ndarray) -> np.ndarray:
    """Phi_i = prod_{j >= i} (1 - 2 c_j), Phi_n = 1, straight from the definition."""
    count, n = bits.shape
    signs = 1 - 2 * bits.astype(np.int64)
    features = np.ones((count, n + 1), dtype=np.int64)
    for i in range(n):
        features[:, i] = np.prod(signs[:, i:], axis=1)
    return features


@pytest.mark.parametrize("n_stages", [1, 7, 8, 13, 64, 65])
def test_parity_features_follow_the_definition(n_stages):
    challenges = arbiter_model.random_challenges(300, n_stages, rng=n_stages)
    bits = arbiter_model.challenge_bits(challenges, n_stages)
    expected = reference_features(bits)
    assert np.array_equal(arbiter_model.parity_features(challenges, n_stages), expected)
    # The spec's parity bits say the same for every challenge.
    for row, value in zip(
        expected, arbiter_model.challenge_ints(challenges, n_stages), strict=True
    ):
        assert [int(f < 0) for f in row[:-1]] == arbiter_behavioural.parity_bits(value, n_stages)


def test_packed_challenges_round_trip_and_are_checked():
    values = [0, 1, 2**13 - 1, 0x1234]
    packed = arbiter_model.challenges_from_ints(values, 13)
    assert packed.shape == (4, 2)
    assert arbiter_model.challenge_ints(packed, 13) == values
    assert arbiter_model.challenge_bits(packed, 13)[3].tolist() == [
        (0x1234 >> j) & 1 for j in range(13)
    ]
    with pytest.raises(ValueError, match=r"Challenge 8192 does not fit 13 bits"):
        arbiter_model.challenges_from_ints([2**13], 13)
    with pytest.raises(ValueError, match=r"bits set past stage 12"):
        arbiter_model.challenge_bits(np.array([[0, 0x20]], dtype=np.uint8), 13)
    with pytest.raises(ValueError, match=r"uint8 array of shape \(count, 2\)"):
        arbiter_model.challenge_bits(np.zeros((3, 3), dtype=np.uint8), 13)


@pytest.mark.parametrize(("n_stages", "k"), [(64, 1), (64, 3), (21, 5)])
def test_delays_equal_features_times_weights(n_stages, k):
    die = ArbiterDie(11, n_stages, k)
    challenges = arbiter_model.random_challenges(500, n_stages, rng=2)
    features = arbiter_model.parity_features(challenges, n_stages)
    for temperature, voltage in CORNERS.values():
        weights = die.weights(temperature, voltage)
        assert np.allclose(die.delays(challenges, temperature, voltage), features @ weights.T)
    integers = np.random.default_rng(1).integers(-(2**15), 2**15, size=(k, n_stages + 1))
    assert np.array_equal(
        arbiter_model.xor_delays(integers, challenges), features.astype(np.int64) @ integers.T
    )
    bits = die.chain_bits(challenges)
    assert np.array_equal(die.responses(challenges), np.bitwise_xor.reduce(bits, axis=1))


def test_dies_are_deterministic_and_independent():
    a, b = ArbiterDie(5, 64, 3), ArbiterDie(5, 64, 3)
    assert np.array_equal(a.nominal_ps, b.nominal_ps)
    assert np.array_equal(a.stage_vc, b.stage_vc)
    # Chain l of a die is the same whatever k.
    assert np.array_equal(ArbiterDie(5, 64, 1).nominal_ps[0], a.nominal_ps[0])
    assert not np.allclose(ArbiterDie(6, 64, 3).nominal_ps, a.nominal_ps)
    assert np.array_equal(a.weights(), a.nominal_ps)
    # Hot: every delay grows; the per-stage drift moves each weight by its own amount.
    hot = a.weights(85.0)
    ratio = hot / a.nominal_ps
    assert np.median(ratio) > 1.0 and np.std(ratio) > 0
    # Noise: fresh per evaluation, repeatable from its own seed.
    challenges = arbiter_model.random_challenges(1000, 64, rng=3)
    assert np.array_equal(a.responses(challenges, rng=4), b.responses(challenges, rng=4))
    repeated = a.responses(challenges, rng=5, repeats=3)
    assert repeated.shape == (3, 1000) and not np.array_equal(repeated[0], repeated[1])
    with pytest.raises(ValueError, match="repeats needs an rng"):
        a.responses(challenges, repeats=3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"noise_sigma_ps": -1.0}, r"noise_sigma_ps must be zero or positive, not -1\.0"),
        ({"stage_sigma_ps": 0.0}, r"stage_sigma_ps must be positive, not 0\.0"),
        ({"tc_mean": float("nan")}, r"tc_mean must be finite, not nan"),
        ({"v_nominal": "1.2"}, r"v_nominal must be a number, not '1\.2'"),
    ],
)
def test_bad_model_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ArbiterParams(**kwargs)


def test_bad_die_arguments():
    with pytest.raises(ValueError, match=r"k must be in 1\.\.8, not 9"):
        ArbiterDie(1, 64, 9)
    with pytest.raises(ValueError, match=r"seed must be an integer, not 1\.5"):
        ArbiterDie(1.5)
    with pytest.raises(ValueError, match=r"temperature must be a plausible degrees C value"):
        ArbiterDie(1).weights(-300.0)


def test_a_million_crps_of_one_chain_are_balanced_and_repeatable():
    # The speed of this call is a benchmark figure (benchmarks/bench_arbiter_puf.py), not a test.
    die = ArbiterDie(1, 64, 1)
    challenges = arbiter_model.random_challenges(10**6, 64, rng=1)
    bits = die.responses(challenges, rng=2)
    assert bits.shape == (10**6,)
    assert 0.2 < bits.mean() < 0.8
    assert np.array_equal(bits, die.responses(challenges, rng=2))


def test_sim_load_quantises_to_the_weight_unit():
    die = ArbiterDie(3, 64, 2)
    load = arbiter_model.sim_load(die, -20.0, 1.26)
    unit = die.params.stage_sigma_ps / arbiter_model.UNITS_PER_SIGMA
    assert np.all(np.abs(load.weights * unit - die.weights(-20.0, 1.26)) <= unit / 2 + 1e-12)
    assert load.weights.dtype == np.int64 and load.weights.shape == (2, 65)
    sigma = arbiter_behavioural.noise_sigma_units(load.noise_scale) * unit
    assert sigma == pytest.approx(die.params.noise_sigma_ps, rel=1e-3)
    with pytest.raises(ValueError, match=r"beyond 16 signed bits"):
        arbiter_model.sim_load(ArbiterDie(3, 64, 1, ArbiterParams(bias_sigma_ps=500.0)))


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_vectorised_gateware_model_equals_the_spec(k):
    die = ArbiterDie(20 + k, 24, k)
    load = arbiter_model.sim_load(die, 85.0, 1.14)
    challenges = arbiter_model.random_challenges(400, 24, rng=k)
    ints = arbiter_model.challenge_ints(challenges, 24)
    bits, chains, state = arbiter_model.gateware_responses(
        load.weights, challenges[:250], seed=k, noise_scale=load.noise_scale
    )
    more, more_chains, state = arbiter_model.gateware_responses(
        load.weights, challenges[250:], seed=0, noise_scale=load.noise_scale, state=state
    )
    expected, final = arbiter_behavioural.evaluate_many(
        load.weights.tolist(), ints, seed=k, noise_scale=load.noise_scale
    )
    assert state == final
    assert np.concatenate([bits, more]).tolist() == [bit for bit, _ in expected]
    assert np.concatenate([chains, more_chains]).tolist() == [c for _, c in expected]
    # The quantised die in the gateware agrees with the float model, noise apart.
    clean, _, _ = arbiter_model.gateware_responses(load.weights, challenges, seed=1, noise_scale=0)
    assert np.mean(clean == die.responses(challenges, 85.0, 1.14)) > 0.995


def test_spec_checks_and_noise_scale():
    with pytest.raises(ValueError, match=r"Chain 0 has 3 weights; an 4-stage chain needs 5"):
        arbiter_behavioural.check_weights([[1, 2, 3]], 4)
    with pytest.raises(ValueError, match=r"weight 32768 does not fit 16 signed bits"):
        arbiter_behavioural.check_weights([[2**15, 0]], 1)
    with pytest.raises(ValueError, match=r"non-integer weight 0\.5"):
        arbiter_behavioural.check_weights([[0.5, 0]], 1)
    with pytest.raises(ValueError, match=r"Expected 1\.\.8 chains of weights, got 9"):
        arbiter_behavioural.check_weights([[0, 0]] * 9, 1)
    with pytest.raises(ValueError, match=r"Challenge 16 does not fit 4 bits"):
        arbiter_behavioural.parity_bits(16, 4)
    with pytest.raises(ValueError, match=r"Noise sigma must not be negative"):
        arbiter_behavioural.noise_scale_for(-1.0)
    with pytest.raises(ValueError, match=r"more than 16 bits"):
        arbiter_behavioural.noise_scale_for(10**6)
    assert arbiter_behavioural.noise_sigma_units(
        arbiter_behavioural.noise_scale_for(1024.0)
    ) == pytest.approx(1024.0, rel=1e-3)
    # The measured spread of the on-chip noise matches its stated sigma.
    offsets, _ = arbiter_behavioural.noise_offsets(arbiter_behavioural.seed_state(3), 20000, 2000)
    assert np.std(offsets) == pytest.approx(arbiter_behavioural.noise_sigma_units(2000), rel=0.03)
    assert abs(np.mean(offsets)) < 0.05 * arbiter_behavioural.noise_sigma_units(2000)
    # delta_width holds the extremes with the sign.
    n = 64
    lowest = -(2**15) * (n + 1) - ((2 * 0xFFFF) * (2**16 - 1) >> 16) - 1
    assert lowest >= -(2 ** (arbiter_behavioural.delta_width(n) - 1))


def test_fleet_figures():
    single = characterise(k=1, n_dies=30, n_challenges=1500)
    xor4 = characterise(k=4, n_dies=30, n_challenges=1500)
    for figures in (single, xor4):
        assert 0.47 < figures.uniqueness < 0.53
        assert abs(figures.uniformity_mean - 0.5) < 0.03
        # 30 dies: bit-aliasing spread near its sampling floor 0.5 / sqrt(30) = 0.091.
        assert 0.06 < figures.bit_aliasing_spread < 0.11
    nominal, *corners = CORNERS
    assert 0.97 < single.reliability[nominal] < 0.99
    for corner in corners:
        # Corners cost a little, not much.
        assert 0.94 < single.reliability[corner] < single.reliability[nominal]
        assert xor4.reliability[corner] < single.reliability[corner]
    # Majority voting helps; an XOR of four is much less reliable than one chain.
    assert single.reliability_voted[nominal] > single.reliability[nominal]
    assert xor4.reliability[nominal] < single.reliability[nominal] - 0.03
    assert majority(np.array([[1, 0], [1, 1], [0, 0]])).tolist() == [1, 0]
    with pytest.raises(ValueError, match="odd number of answers, not 2"):
        majority(np.zeros((2, 3)))


def test_arbiter_offset_has_half_the_variance_of_a_stage():
    # Additive delay model: an inner weight is the sum of two independent half-differences,
    # the arbiter's offset one of them, so its sigma is stage_sigma / sqrt(2) (pypuf: 0.5).
    dies = [ArbiterDie(seed, 16, 1) for seed in range(3000)]
    weights = np.array([die.nominal_ps[0] for die in dies])
    stage = weights[:, 1:-1].std()
    assert stage == pytest.approx(DEFAULT_ARBITER_PARAMS.stage_sigma_ps, rel=0.02)
    assert weights[:, -1].std() / stage == pytest.approx(math.sqrt(0.5), rel=0.05)
    # What that means for k = 1: mean |E[+-1 answer]| over dies (pypuf's bias) is about
    # E|2 Phi(b / sqrt(n)) - 1| = (2 / pi) sigma_b / sqrt(n), in stage sigmas: 0.056 for 64
    # stages (0.080 with the offset at a whole stage sigma, 0.040 at half of one).
    challenges = arbiter_model.random_challenges(10_000, 64, rng=1)
    bias = [abs(2 * ArbiterDie(s, 64, 1).responses(challenges).mean() - 1) for s in range(400)]
    sigma_b = DEFAULT_ARBITER_PARAMS.bias_sigma_ps / DEFAULT_ARBITER_PARAMS.stage_sigma_ps
    expected = 2 / math.pi * sigma_b / math.sqrt(64)
    assert np.mean(bias) == pytest.approx(expected, rel=0.15)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_responses_are_pypufs_inverted_for_odd_k(k):
    # pypuf (LTFArray, transform 'atf'): challenge bits as x = 1 - 2 c, r = sign(prod_l
    # (b_l + W_l . att(x))), and the bit of r = -1 is 1. The same weights answer here the XOR
    # of (delta_l > 0): the inverse of pypuf's bit when k is odd, the same when k is even.
    die = ArbiterDie(5, 32, k)
    challenges = arbiter_model.random_challenges(2000, 32, rng=3)
    x = 1 - 2 * arbiter_model.challenge_bits(challenges, 32).astype(np.int64)
    att = np.flip(np.cumprod(np.flip(x, axis=1), axis=1), axis=1)
    w = die.nominal_ps
    pypuf_value = np.prod(w[:, -1] + att @ w[:, :-1].T, axis=1)
    pypuf_bit = (pypuf_value < 0).astype(np.uint8)
    assert np.array_equal(die.responses(challenges), pypuf_bit ^ (k & 1))
