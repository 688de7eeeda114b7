"""Key failure and leakage of rank pairing (host/pairing_analysis.py) and its entropy account."""

import math

import numpy as np
import pytest

from ropuf.host import pairing_analysis as pa
from ropuf.host.keygen import EnrollmentError, rank_pair_account
from ropuf.host.keygen_analysis import AnalysisError, binomial_tail
from ropuf.spec.pairing import RankPairing


def _q(x):
    return 0.5 * math.erfc(x / math.sqrt(2.0))


@pytest.mark.parametrize(("batch", "per_batch"), [(8, 4), (16, 4), (64, 32)])
def test_fleet_choice_is_the_specs(batch, per_batch):
    pairing = RankPairing(batch, per_batch)
    means = np.random.default_rng(batch).normal(size=(5, 3 * batch))
    pairs = 3 * per_batch
    fast = pa._fast_choose(means, pairing, pairs)
    spec = pa.enrol_pairs(means, pairing, pairs)
    assert spec.shape == (5, pairs, 2)
    assert np.array_equal(fast, spec)
    for row, chosen in zip(means, spec, strict=True):
        assert [tuple(p) for p in chosen] == pairing.choose(row, pairs)


def test_pair_bits_and_error_probabilities():
    values = np.array([[10.0, 9.0, 8.0, 12.0]])
    pair_list = np.array([[[0, 1], [2, 3]]])
    bits = pa.pair_bits(values, pair_list)
    assert bits.tolist() == [[1, 0]]
    errors = pa.pair_error_probabilities(bits, values, pair_list, 0.1)
    assert errors[0, 0] == pytest.approx(_q(1.0 / (0.1 * math.hypot(10, 9))))
    assert errors[0, 1] == pytest.approx(_q(4.0 / (0.1 * math.hypot(8, 12))))
    # the corner moved pair 0 the other way: the enrolled bit is now more likely wrong
    corner = np.array([[9.0, 10.0, 8.0, 12.0]])
    assert pa.pair_error_probabilities(bits, corner, pair_list, 0.1)[0, 0] > 0.5


def test_measured_pair_errors():
    diff = np.array([[[1.0, 3.0], [-2.0, -2.5]]])
    got = pa.measured_pair_errors(np.array([[1, 1]]), diff)
    assert got[0, 0] == pytest.approx(_q(2.0 / math.sqrt(2.0)))
    assert got[0, 1] > 0.5
    with pytest.raises(AnalysisError, match="reads >= 2"):
        pa.measured_pair_errors(np.array([[1]]), np.ones((1, 1, 1)))


def test_failures_are_binomial_tails_and_the_worst_corner():
    p = np.full((2, 160), 1e-3)
    p[1] = 2e-3
    for t in (1, 3):
        got = pa.rank_pair_failures(p, t)
        assert got == pytest.approx([binomial_tail(160, 1e-3, t), binomial_tail(160, 2e-3, t)])
    corners = np.stack([p, p[::-1]])
    worst = pa.rank_pair_failures(corners, 2)
    assert worst == pytest.approx([binomial_tail(160, 2e-3, 2)] * 2)


def test_smallest_code_meets_both_targets():
    p = np.full((4, 160), 3e-5)
    t, k, summary, second = pa.smallest_code(p)
    assert binomial_tail(160, 3e-5, t) <= 1e-9 < binomial_tail(160, 3e-5, t - 1)
    assert k == 160 - 8 * t and second is None
    assert summary.percentiles[99.9] == pytest.approx(binomial_tail(160, 3e-5, t))
    averaged = np.full((2, 4, 160), 1e-4)
    t2, _, _, second = pa.smallest_code(p, averaged=averaged)
    assert t2 > t and 2 * binomial_tail(160, 1e-4, t2) <= 1e-9
    assert second.mean == pytest.approx(2 * binomial_tail(160, 1e-4, t2))
    assert 2 * binomial_tail(160, 1e-4, t2 - 1) > 1e-9
    # k >= 128 allows t <= 4 at n = 160: a bit-error rate of 5 % has no code
    assert pa.smallest_code(np.full((4, 160), 0.05)) is None


def test_coefficient_averaged_errors_average_the_shift():
    # the mean over coefficient draws of one reading's error equals the closed form
    rng = np.random.default_rng(6)
    gaps = np.array([[3e-3, 1e-3]])
    shift = rng.normal(scale=1e-3, size=(40_000, 1, 1))
    sampled = pa._q((gaps + shift) / 2e-4).mean(axis=0)
    closed = pa.coefficient_averaged_errors(gaps, 1e-3, 2e-4)
    assert closed == pytest.approx(sampled, rel=0.05)
    assert closed[0, 0] == pytest.approx(_q(3e-3 / math.hypot(1e-3, 2e-4)))
    corners = np.stack([closed, closed / 2])
    expected = 2 - np.prod(1 - closed) - np.prod(1 - closed / 2)
    assert pa.corner_sum_failures(corners, 0) == pytest.approx([expected])
    with pytest.raises(AnalysisError, match="both be zero"):
        pa.coefficient_averaged_errors(gaps, 0.0, 0.0)


def test_per_device_summary():
    values = np.concatenate([np.zeros(999), [1.0]])
    summary = pa.per_device_summary(values)
    assert summary.mean == pytest.approx(1e-3)
    assert summary.percentiles[50.0] == 0.0 and summary.percentiles[99.9] > 0.0
    assert summary.devices == 1000 and len(summary.run_means) == 4


def test_helper_bytes():
    assert pa.helper_bytes(RankPairing(64, 32), 160) == 18 + 240 + 20 + 12 == 290
    assert pa.helper_bytes(RankPairing(64, 32), 192) == 342
    assert pa.helper_bytes(RankPairing(128, 64), 192) > 384


def test_exchangeable_ros_leak_nothing_and_a_shared_layout_does():
    rng = np.random.default_rng(3)
    pairing = RankPairing(16, 8)
    dies, n = 400, 32
    values = rng.normal(size=(dies, 64))
    pair_list = pa.enrol_pairs(values, pairing, n)
    fair = pa.fleet_leakage(pa.pair_bits(values, pair_list), pair_list, values)
    # each position a fair coin over 400 dies: within 5 sigma of one half
    assert np.all(np.abs(fair["position_ones"] - 0.5) < 5 * 0.5 / math.sqrt(dies))
    assert abs(fair["layout_guess"] - 0.5) < 0.03
    assert abs(fair["same_pair_guess"] - 0.5) < 0.03
    assert fair["position_entropy"] == pytest.approx(fair["fair_entropy"], abs=0.03)
    layout = values + 2.0 * rng.normal(size=64)
    pair_list = pa.enrol_pairs(layout, pairing, n)
    biased = pa.fleet_leakage(pa.pair_bits(layout, pair_list), pair_list, layout)
    assert biased["layout_guess"] > 0.8 and biased["same_pair_guess"] > 0.7
    assert biased["position_entropy"] < fair["position_entropy"] - 0.1


def test_same_pair_majority_by_hand():
    pair_list = np.array([[[0, 1]], [[0, 1]], [[0, 1]], [[2, 3]]])
    bits = np.array([[1], [1], [0], [1]])
    values = np.zeros((4, 4)) + np.arange(4)
    got = pa.fleet_leakage(bits, pair_list, values)
    # die 0: others (1, 0) tie -> 1/2; die 1: tie -> 1/2; die 2: others (1, 1) -> 1, wrong;
    # die 3: nobody else chose (2, 3) -> 1/2
    assert got["same_pair_guess"] == pytest.approx((0.5 + 0.5 + 0.0 + 0.5) / 4)
    assert got["same_pair_share"] == pytest.approx(0.75)


def test_layout_offsets_recover_rows_and_columns():
    rng = np.random.default_rng(4)
    rows, cols = rng.normal(size=(8, 1)), rng.normal(size=(1, 4))
    shared = (rows + cols - (rows + cols).mean()).ravel()
    per_die = rng.normal(scale=0.01, size=(3000, 32))
    estimate = pa.layout_offsets(shared + per_die, 4, per_ro=False)
    assert np.allclose(estimate, shared, atol=2e-3)
    assert np.allclose(pa.layout_offsets(shared + per_die, 4), shared, atol=2e-3)


def test_soft_benchmark_errors():
    rng = np.random.default_rng(5)
    pairing = RankPairing(16, 4)
    errors = pa.soft_benchmark_errors(pairing, 64, 0.15, 500, enrol_reads=25, rng=rng)
    assert errors.shape == (500, 64)
    # outer quarters of a batch: gaps of at least the middle half, far fewer errors than 15 %
    assert 1e-4 < errors.mean() < 0.02
    wider = pa.soft_benchmark_errors(RankPairing(16, 8), 64, 0.15, 500, enrol_reads=25, rng=rng)
    assert wider.mean() > 2 * errors.mean()
    with pytest.raises(AnalysisError, match="Bit-error rate"):
        pa.soft_benchmark_errors(pairing, 64, 0.5, 2, enrol_reads=1, rng=rng)


def test_rank_pair_account():
    bits = np.tile([0, 1, 1], 60)[:160]
    account = rank_pair_account(bits, 136)
    assert account.selected_entropy == 160 and account.disclosed == 24
    assert account.remaining == 136 and account.bias == pytest.approx(bits.mean())
    assert rank_pair_account(bits, 128).remaining == 128
    with pytest.raises(EnrollmentError, match=r"127\.0 bits is below 128"):
        rank_pair_account(bits, 127)
    with pytest.raises(EnrollmentError, match="below 128"):
        rank_pair_account(bits, 136, design_min_entropy=0.9)
    assert rank_pair_account(bits, 136, design_min_entropy=0.975).remaining == pytest.approx(132)
    for bad in (0, 161, 1.5):
        with pytest.raises(ValueError, match="k must be"):
            rank_pair_account(bits, bad)
