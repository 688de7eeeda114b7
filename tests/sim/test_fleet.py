"""The fleet's view of key entropy, on synthetic responses with known answers."""

import numpy as np

from ropuf.sim.fleet import fleet_entropy
from ropuf.spec.code_params import CHOSEN


def masks_for(dies, rng):
    masks = np.zeros((dies, CHOSEN.candidate_pairs), dtype=bool)
    for d in range(dies):
        masks[d, rng.choice(CHOSEN.candidate_pairs, CHOSEN.selected_bits, replace=False)] = True
    return masks


def test_identical_dies_have_no_key_entropy():
    rng = np.random.default_rng(1)
    reference = np.tile(rng.random(CHOSEN.candidate_pairs) < 0.5, (20, 1))
    view = fleet_entropy(reference, masks_for(20, rng), CHOSEN)
    assert view["majority_guess"] == 1.0
    assert view["fleet_key_entropy"] == -(CHOSEN.selected_bits - CHOSEN.k)


def test_independent_dies_cannot_be_guessed():
    rng = np.random.default_rng(2)
    reference = rng.random((400, CHOSEN.candidate_pairs)) < 0.5
    masks = masks_for(400, rng)
    masks[7] = False  # a die that was not enrolled does not count
    view = fleet_entropy(reference, masks, CHOSEN)
    assert abs(view["majority_guess"] - 0.5) < 0.01
    # 400 dies: each position's estimated p is within a few % of 0.5, so about 0.93 bits each.
    assert 0.85 * CHOSEN.selected_bits - 108 < view["fleet_key_entropy"] < CHOSEN.k


def test_no_enrolled_die():
    reference = np.ones((3, CHOSEN.candidate_pairs), dtype=bool)
    view = fleet_entropy(reference, np.zeros_like(reference), CHOSEN)
    assert np.isnan(view["majority_guess"]) and np.isnan(view["fleet_key_entropy"])
