"""The fleet's view of key entropy, on synthetic counts with known answers."""

import numpy as np

from ropuf.host.design_offsets import as_build_offsets
from ropuf.sim.fleet import fleet_entropy
from ropuf.spec.code_params import CHOSEN


def pairs_for(counts):
    """Each die's rank pairs, as enrollment chooses them from its counts."""
    return [CHOSEN.pairing.choose(row, CHOSEN.selected_bits) for row in counts]


def test_identical_dies_have_no_key_entropy():
    rng = np.random.default_rng(1)
    counts = np.tile(10_000 + 40 * rng.standard_normal(CHOSEN.ros), (20, 1))
    view = fleet_entropy(counts, pairs_for(counts), CHOSEN)
    assert view["majority_guess"] == 1.0
    assert view["fleet_key_entropy"] == -(CHOSEN.selected_bits - CHOSEN.k)


def test_a_shared_design_part_is_removed_by_the_offsets():
    # Dies that share a large design part: at their pairs every die agrees, unless the fleet's
    # bits are taken with the design thresholds, as the device takes them.
    rng = np.random.default_rng(3)
    design = np.array(as_build_offsets(400 * rng.standard_normal(CHOSEN.ros)))
    counts = 10_000 + design + 40 * rng.standard_normal((200, CHOSEN.ros))
    pairs = pairs_for(counts - design)
    aliased = fleet_entropy(counts, pairs, CHOSEN)
    corrected = fleet_entropy(counts, pairs, CHOSEN, offsets=design)
    assert aliased["majority_guess"] > 0.9 and aliased["fleet_key_entropy"] < 0
    assert abs(corrected["majority_guess"] - 0.5) < 0.05
    assert corrected["fleet_key_entropy"] > 0.8 * CHOSEN.selected_bits - (CHOSEN.n - CHOSEN.k)


def test_independent_dies_cannot_be_guessed():
    rng = np.random.default_rng(2)
    counts = 10_000 + 40 * rng.standard_normal((400, CHOSEN.ros))
    pairs = pairs_for(counts)
    pairs[7] = None  # a die that was not enrolled does not count
    view = fleet_entropy(counts, pairs, CHOSEN)
    assert abs(view["majority_guess"] - 0.5) < 0.01
    # 400 dies: each position's estimated p is within a few % of 0.5, so about 0.93 bits each.
    disclosed = CHOSEN.n - CHOSEN.k
    assert 0.85 * CHOSEN.selected_bits - disclosed < view["fleet_key_entropy"] < CHOSEN.k
    assert view["fair_key_entropy"] < CHOSEN.k


def test_no_enrolled_die():
    counts = np.ones((3, CHOSEN.ros))
    view = fleet_entropy(counts, [None] * 3, CHOSEN)
    assert np.isnan(view["majority_guess"]) and np.isnan(view["fleet_key_entropy"])
