"""PUF metrics: hand-built cases with known answers, and properties over random responses."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ropuf.host import metrics
from ropuf.host.metrics import MetricsError


def bit_arrays(min_chips: int = 1, max_chips: int = 6, max_bits: int = 40):
    """Boolean arrays of shape (chips, bits)."""
    shape = st.tuples(
        st.integers(min_value=min_chips, max_value=max_chips),
        st.integers(min_value=1, max_value=max_bits),
    )
    return hnp.arrays(np.bool_, shape)


# --- pairing and responses ------------------------------------------------------------------------


def test_neighbour_pairs_are_disjoint_neighbours():
    assert metrics.neighbour_pairs(6).tolist() == [[0, 1], [2, 3], [4, 5]]
    assert metrics.neighbour_pairs(5).tolist() == [[0, 1], [2, 3]]
    assert metrics.neighbour_pairs(512).shape == (256, 2)


@pytest.mark.parametrize("bad", [1, 0, -4, 2.0, True, "8"])
def test_neighbour_pairs_rejects_bad_counts(bad):
    with pytest.raises(MetricsError, match=rf"n_ro must be an integer of at least 2, not {bad!r}"):
        metrics.neighbour_pairs(bad)


def test_responses_compare_pairs():
    values = np.array([3.0, 1.0, 2.0, 5.0, 4.0, 4.0])
    bits = metrics.responses(values, metrics.neighbour_pairs(6))
    # 3 > 1, 2 > 5 is false, a tie is "not greater".
    assert bits.tolist() == [True, False, False]
    assert bits.dtype == np.bool_


def test_responses_keep_leading_axes_and_axis_position():
    values = np.array([[3.0, 1.0, 2.0, 5.0], [0.0, 1.0, 9.0, 8.0]])
    pairs = metrics.neighbour_pairs(4)
    assert metrics.responses(values, pairs).tolist() == [[True, False], [False, True]]
    # The same ROs on axis 0: the bit axis takes their place.
    assert metrics.responses(values.T, pairs, axis=0).tolist() == [[True, False], [False, True]]
    stacked = np.stack([values, values[::-1]])  # (2, 2, 4)
    assert metrics.responses(stacked, pairs).shape == (2, 2, 2)


def test_responses_with_chosen_pairs():
    values = np.array([10.0, 20.0, 30.0])
    assert metrics.responses(values, [[2, 0], [0, 1], [1, 2]]).tolist() == [True, False, False]


def test_responses_reject_bad_pairs():
    values = np.arange(4.0)
    with pytest.raises(
        MetricsError, match=r"pairs must be an integer array of shape \(n_bits, 2\)"
    ):
        metrics.responses(values, [0, 1])
    with pytest.raises(MetricsError, match=r"pairs name ROs 0\.\.4, but values hold only 4 ROs"):
        metrics.responses(values, [[0, 4]])
    with pytest.raises(MetricsError, match=r"axis 3 is out of range for values of shape \(4,\)"):
        metrics.responses(values, [[0, 1]], axis=3)


def test_reference_response_is_response_of_the_mean():
    # RO 0 vs RO 1: samples disagree (2 of 3 say RO 1 is faster), but the mean says RO 0.
    samples = np.array([[10.0, 10.0, 20.0], [11.0, 11.0, 1.0]])
    assert metrics.responses(samples.T, [[0, 1]]).tolist() == [[False], [False], [True]]
    assert metrics.reference_response(samples, [[0, 1]]).tolist() == [True]
    # Chips x samples x ROs, axes given explicitly.
    chips = np.stack([samples.T, samples.T[:, ::-1]])
    ref = metrics.reference_response(chips, [[0, 1]], sample_axis=1, ro_axis=2)
    assert ref.tolist() == [[True], [False]]


# --- distances ------------------------------------------------------------------------------------


def test_hamming_distance_hand_case():
    assert metrics.hamming_distance([1, 0, 1, 1], [0, 0, 1, 0]) == 0.5
    assert metrics.hamming_distance([[1, 1], [0, 0]], [1, 0]).tolist() == [0.5, 0.5]


def test_uniformity_hand_case():
    assert metrics.uniformity([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 1]]).tolist() == [
        0.5,
        1.0,
        0.25,
    ]


def test_uniqueness_hand_case():
    chips = np.array([[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1]])
    assert metrics.pairwise_hd(chips).tolist() == [0.5, 1.0, 0.5]
    assert metrics.uniqueness(chips) == pytest.approx(2.0 / 3.0)


def test_intra_hd_and_reliability_hand_case():
    reference = np.array([1, 0, 1, 0])
    measured = np.array([[1, 0, 1, 0], [0, 0, 1, 0], [0, 1, 0, 0]])  # HD 0, 1/4, 3/4
    assert metrics.intra_hd(measured, reference) == pytest.approx(1.0 / 3.0)
    assert metrics.reliability(measured, reference) == pytest.approx(2.0 / 3.0)
    # Two chips at once.
    both = metrics.intra_hd(np.stack([measured, measured[[0, 0, 0]]]), np.stack([reference] * 2))
    assert both.tolist() == pytest.approx([1.0 / 3.0, 0.0])


def test_bit_aliasing_hand_case():
    chips = np.array([[1, 0, 1], [1, 1, 0]])
    assert metrics.bit_aliasing(chips).tolist() == [1.0, 0.5, 0.5]
    assert metrics.bit_aliasing_spread(chips) == pytest.approx(np.std([1.0, 0.5, 0.5]))


def test_min_entropy_hand_case():
    chips = np.array([[1, 0, 1, 1], [1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 0, 0]])
    # p per bit: 1, 1/2, 1/2, 1/4
    expected = [0.0, 1.0, 1.0, -math.log2(0.75)]
    assert metrics.bitwise_min_entropy(chips).tolist() == pytest.approx(expected)
    assert metrics.min_entropy(chips) == pytest.approx(np.mean(expected))


# --- validation -----------------------------------------------------------------------------------


def test_bits_must_be_zero_or_one():
    with pytest.raises(MetricsError, match=r"must hold booleans or the integers 0 and 1"):
        metrics.uniformity([0.0, 1.0])
    with pytest.raises(MetricsError, match=r"must hold only 0 and 1, found values"):
        metrics.uniformity([0, 2, 1])
    with pytest.raises(MetricsError, match=r"has no bits"):
        metrics.uniformity(np.zeros((3, 0), dtype=bool))


def test_shape_errors():
    with pytest.raises(MetricsError, match=r"responses differ in length: 3 and 2 bits"):
        metrics.hamming_distance([0, 1, 1], [0, 1])
    with pytest.raises(MetricsError, match=r"shape \(n_chips >= 2, n_bits\), not \(1, 3\)"):
        metrics.uniqueness([[0, 1, 1]])
    with pytest.raises(MetricsError, match=r"measured responses have 3 bits, the reference 2"):
        metrics.intra_hd([[0, 1, 1]], [0, 1])
    with pytest.raises(MetricsError, match=r"at least 2 dimension"):
        metrics.bit_aliasing([0, 1, 1])


def test_metrics_error_is_a_value_error():
    assert issubclass(MetricsError, ValueError)


# --- properties -----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(bit_arrays(min_chips=3, max_chips=3))
def test_hd_is_a_metric(chips):
    a, b, c = chips
    assert metrics.hamming_distance(a, b) == metrics.hamming_distance(b, a)
    assert metrics.hamming_distance(a, a) == 0.0
    assert metrics.hamming_distance(a, ~a) == 1.0
    assert metrics.hamming_distance(a, c) <= (
        metrics.hamming_distance(a, b) + metrics.hamming_distance(b, c) + 1e-12
    )


@settings(max_examples=60, deadline=None)
@given(bit_arrays(min_chips=2))
def test_pairwise_hd_matches_a_plain_loop(chips):
    expected = [np.mean(x != y) for x, y in itertools.combinations(chips, 2)]
    assert metrics.pairwise_hd(chips) == pytest.approx(expected)
    assert metrics.pairwise_hd(chips.astype(np.int64)) == pytest.approx(expected)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.bool_, st.integers(1, 40)), st.integers(2, 6))
def test_identical_chips_have_zero_uniqueness(response, n_chips):
    chips = np.tile(response, (n_chips, 1))
    assert metrics.uniqueness(chips) == 0.0
    assert metrics.min_entropy(chips) == 0.0
    assert metrics.intra_hd(chips, response) == 0.0


@settings(max_examples=60, deadline=None)
@given(bit_arrays(min_chips=2))
def test_complement_symmetries(chips):
    assert metrics.uniformity(chips) + metrics.uniformity(~chips) == pytest.approx(1.0)
    assert metrics.min_entropy(~chips) == pytest.approx(metrics.min_entropy(chips))
    assert metrics.bit_aliasing_spread(~chips) == pytest.approx(metrics.bit_aliasing_spread(chips))
    entropy = metrics.bitwise_min_entropy(chips)
    assert np.all((entropy >= 0.0) & (entropy <= 1.0))


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float64, st.integers(2, 30), elements=st.floats(-1e6, 1e6)))
def test_swapping_a_pair_flips_exactly_the_unequal_bits(values):
    pairs = metrics.neighbour_pairs(len(values))
    forward = metrics.responses(values, pairs)
    backward = metrics.responses(values, pairs[:, ::-1])
    unequal = values[pairs[:, 0]] != values[pairs[:, 1]]
    assert np.array_equal(forward ^ backward, unequal)


def test_fair_min_entropy_estimate_is_the_estimators_mean_on_fair_coins():
    assert metrics.fair_min_entropy_estimate(1) == 0.0  # one chip: every position looks fixed
    assert metrics.fair_min_entropy_estimate(2) == pytest.approx(0.5)  # 01/10 give 1 bit
    rng = np.random.default_rng(4)
    fair = rng.integers(0, 2, (60, 20_000))
    measured = float(np.mean(metrics.bitwise_min_entropy(fair)))
    assert measured == pytest.approx(metrics.fair_min_entropy_estimate(60), abs=0.003)
    assert metrics.fair_min_entropy_estimate(1000) > metrics.fair_min_entropy_estimate(60)
    with pytest.raises(ValueError, match="positive integer, not 0"):
        metrics.fair_min_entropy_estimate(0)
