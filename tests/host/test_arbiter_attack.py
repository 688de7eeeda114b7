"""The modeling attack: logistic regression learns single arbiter chains, not wide XORs."""

import numpy as np
import pytest

from ropuf.host.arbiter_attack import AttackError, accuracy, fit_xor_arbiter, predict
from ropuf.sim.arbiter_model import ArbiterDie, parity_features, random_challenges

N = 64


def crps(die: ArbiterDie, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training CRPs as an eavesdropper gets them: one noisy evaluation per challenge."""
    challenges = random_challenges(count, N, rng=seed)
    return parity_features(challenges, N, np.float32), die.responses(challenges, rng=seed + 1)


def test_set(die: ArbiterDie, seed: int = 999) -> tuple[np.ndarray, np.ndarray]:
    """Held-out challenges and the die's noise-free answers."""
    challenges = random_challenges(10_000, N, rng=seed)
    return parity_features(challenges, N, np.float32), die.responses(challenges)


test_set.__test__ = False  # a helper, not a test


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_the_true_weights_predict_the_die(k):
    # The product-of-linear-forms model is the XOR: with the die's own weights (one chain
    # negated for even k) it predicts every noise-free response.
    die = ArbiterDie(40 + k, N, k)
    features, bits = test_set(die)
    weights = die.weights().copy()
    if k % 2 == 0:
        weights[0] = -weights[0]
    assert np.array_equal(predict(weights, features), bits)


def test_a_single_chain_is_learned_from_a_few_thousand_crps_and_a_4_xor_is_not():
    for die_seed in (1, 2, 3):
        single = ArbiterDie(die_seed, N, 1)
        features, bits = crps(single, 4000, seed=10 * die_seed)
        model = fit_xor_arbiter(features, bits, 1, seed=die_seed)
        assert accuracy(model.weights, *test_set(single)) > 0.98

        xor4 = ArbiterDie(die_seed, N, 4)
        features, bits = crps(xor4, 4000, seed=10 * die_seed)
        model = fit_xor_arbiter(features, bits, 4, seed=die_seed, restarts=3)
        assert accuracy(model.weights, *test_set(xor4)) < 0.6


def test_the_attack_is_deterministic():
    die = ArbiterDie(8, N, 2)
    features, bits = crps(die, 3000, seed=4)
    first = fit_xor_arbiter(features, bits, 2, seed=5, restarts=2)
    again = fit_xor_arbiter(features, bits, 2, seed=5, restarts=2)
    assert np.array_equal(first.weights, again.weights)
    assert (first.iterations, first.restarts) == (again.iterations, again.restarts)
    other = fit_xor_arbiter(features, bits, 2, seed=6, restarts=2)
    assert not np.array_equal(first.weights, other.weights)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((np.ones((10, 5)), np.zeros(9, dtype=np.uint8), 1), {}, r"bits must have shape \(10,\)"),
        ((np.ones((10, 5), dtype=np.int8), np.zeros(10, dtype=np.uint8), 1), {}, r"float array"),
        ((np.ones((4, 5)), np.array([0, 1, 2, 1]), 1), {}, r"only 0 and 1"),
        ((np.ones((4, 5)), np.zeros(4, dtype=np.uint8), 0), {}, r"k must be an integer in 1\.\.8"),
        ((np.ones((4, 5)), np.zeros(4, dtype=np.uint8), 1), {"restarts": 0}, r"restarts must"),
        (
            (np.ones((4, 5)), np.zeros(4, dtype=np.uint8), 1),
            {"validation_fraction": 1.0},
            r"validation_fraction must be in \[0, 1\), not 1\.0",
        ),
    ],
)
def test_bad_attack_inputs(args, kwargs, message):
    with pytest.raises(AttackError, match=message):
        fit_xor_arbiter(*args, seed=0, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize(("k", "count"), [(2, 20_000), (3, 30_000), (4, 60_000)])
def test_small_xors_fall_to_more_crps(k, count):
    die = ArbiterDie(100 + k, N, k)
    features, bits = crps(die, count, seed=k)
    model = fit_xor_arbiter(features, bits, k, seed=k, restarts=6)
    assert accuracy(model.weights, *test_set(die)) > 0.95


@pytest.mark.slow
def test_a_5_xor_falls_to_200k_crps():
    die = ArbiterDie(105, N, 5)
    features, bits = crps(die, 200_000, seed=5)
    model = fit_xor_arbiter(features, bits, 5, seed=5, restarts=4)
    assert accuracy(model.weights, *test_set(die)) > 0.95
