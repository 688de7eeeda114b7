"""Key failure per device: the spread over simulated devices, and one enrolled device's own
predicted failure from its measured margins, checked against the full decoder."""

import math

import numpy as np
import pytest

from ropuf.host import keygen_analysis as ka
from ropuf.host.design_offsets import as_build_offsets, pair_thresholds
from ropuf.host.fuzzy import corrected_batch, decode_soft, pair_soft
from ropuf.host.keygen import enrol
from ropuf.spec.code_params import CHOSEN, CodeParams
from ropuf.spec.pairing import RankPairing

#: The masked construction of helper data v2 (the model device_failures is about): 242 of 760
#: candidate bits, BCH(242, 134, t=14); its pairing plays no part in these functions.
MASKED = CodeParams(rep=1, gf_m=8, t=14, n=242, pairing=RankPairing(batch=4, per_batch=2))
CANDIDATES = 760


def test_failure_summary_reports_mean_spread_and_percentiles():
    summary = ka.failure_summary(MASKED, 0.15, 3000, seeds=(1, 2, 3), candidates=CANDIDATES)
    runs = [
        ka.device_failures(
            MASKED, 0.15, 3000, rng=np.random.default_rng(seed), candidates=CANDIDATES
        )
        for seed in (1, 2, 3)
    ]
    pooled = np.concatenate(runs)
    assert summary.devices == 9000
    assert summary.mean == pytest.approx(pooled.mean())
    assert summary.run_means == pytest.approx([run.mean() for run in runs])
    assert summary.spread == pytest.approx(np.std([run.mean() for run in runs], ddof=1))
    assert set(summary.percentiles) == {50.0, 99.0, 99.9}
    for q, value in summary.percentiles.items():
        assert value == pytest.approx(np.percentile(pooled, q))
    # The tail is heavy: the median device is far better than the mean, the worst 1 % far worse.
    assert summary.percentiles[50.0] < summary.mean / 5
    assert summary.percentiles[99.0] > 5 * summary.mean


def test_device_averaged_failure_is_the_mean_of_device_failures():
    rngs = np.random.default_rng(4), np.random.default_rng(4)
    per_device = ka.device_failures(MASKED, 0.2, 500, rng=rngs[0], candidates=CANDIDATES)
    mean, error = ka.device_averaged_failure(MASKED, 0.2, 500, rng=rngs[1], candidates=CANDIDATES)
    assert mean == pytest.approx(per_device.mean())
    assert error == pytest.approx(per_device.std(ddof=1) / math.sqrt(500))


def test_failure_summary_needs_two_seeds():
    with pytest.raises(ka.AnalysisError, match="at least 2 seeds"):
        ka.failure_summary(MASKED, 0.15, 100, seeds=(1,), candidates=CANDIDATES)
    with pytest.raises(ValueError, match=r"Candidates must be in 242\.\.65535, not 100"):
        ka.device_failures(MASKED, 0.15, 100, rng=np.random.default_rng(1), candidates=100)


def _device(rng, scale=40.0):
    """Per-RO mean counts of one synthetic device."""
    return 10_000 + scale * rng.standard_normal(CHOSEN.ros)


def _reads(rng, frequency, sigma, count):
    noise = sigma * rng.standard_normal((count, frequency.size))
    return np.rint(frequency + noise).astype(np.int64)


def test_measured_key_failure_matches_the_decoder():
    # Enrolled with little noise, read at a condition noisy enough that keys fail often enough
    # to count: the prediction from that condition's reads must match the full decoder.
    rng = np.random.default_rng(11)
    frequency = _device(rng)
    enrolled = _reads(rng, frequency, 2.0, 50)
    message = [int(b) for b in rng.integers(0, 2, CHOSEN.k)]
    # Design offsets travel into the prediction (the thresholds as the device takes them).
    offsets = as_build_offsets(30.0 * rng.standard_normal(CHOSEN.ros))
    helper = enrol(enrolled, CHOSEN, n_ro=1024, offsets=offsets, message_bits=message).helper
    noisy = 54.0
    condition = _reads(rng, frequency, noisy, 2000)
    predicted = ka.measured_key_failure([enrolled, condition], helper, offsets)
    # Without them the enrolled bits are taken elsewhere: a different (wrong) prediction.
    assert not np.allclose(ka.measured_key_failure([enrolled, condition], helper), predicted)
    assert predicted.shape == (2,)
    assert predicted[0] < 1e-12 < 0.02 < predicted[1] < 0.98

    trials = 4000
    counts = _reads(rng, frequency, noisy, trials)
    soft = corrected_batch(
        pair_soft(counts, helper.pairs, CHOSEN.soft_width),
        pair_thresholds(offsets, helper.pairs),
        CHOSEN.soft_width,
    )
    decoded, failed = decode_soft(soft, np.array(helper.offset), CHOSEN)
    counted = np.mean(failed | np.any(decoded != np.array(message), axis=1))
    tolerance = 4 * math.sqrt(predicted[1] * (1 - predicted[1]) / trials) + 0.01
    assert counted == pytest.approx(predicted[1], abs=tolerance)


def test_measured_key_failure_thin_margins_fail_and_thick_pass():
    rng = np.random.default_rng(5)
    frequency = _device(rng)
    reads = _reads(rng, frequency, 2.0, 25)
    helper = enrol(reads, CHOSEN, n_ro=1024).helper
    assert ka.measured_key_failure([reads], helper)[0] < 1e-30
    thin = _reads(rng, frequency, 50.0, 25)
    assert ka.measured_key_failure([reads, thin], helper)[1] > 1e-3


def test_measured_key_failure_refuses_bad_reads():
    rng = np.random.default_rng(5)
    reads = _reads(rng, _device(rng), 2.0, 5)
    helper = enrol(reads, CHOSEN, n_ro=1024).helper
    with pytest.raises(ka.AnalysisError, match="shape"):
        ka.measured_key_failure([], helper)
    with pytest.raises(ka.AnalysisError, match=r"n_ro >= 832"):
        ka.measured_key_failure([reads[:, :100]], helper)
    with pytest.raises(ka.AnalysisError, match="n_reads >= 2"):
        ka.measured_key_failure([reads[:1]], helper)
    # More ROs than the pairs use (a whole array read) are fine.
    wide = np.concatenate([reads, reads[:, :64]], axis=1)
    assert ka.measured_key_failure([wide], helper) == pytest.approx(
        ka.measured_key_failure([reads], helper)
    )


def test_measured_bit_errors_take_the_enrolled_sign():
    # At a condition where every pair's order has flipped, every bit errs (almost surely): the
    # enrolled bits come from the enrollment reads, not from the condition's own.
    rng = np.random.default_rng(8)
    frequency = _device(rng)
    enrolled = _reads(rng, frequency, 2.0, 10)
    helper = enrol(enrolled, CHOSEN, n_ro=1024).helper
    flipped = _reads(rng, 20_000 - frequency, 2.0, 10)
    assert np.all(ka.measured_bit_errors(flipped, helper, enrolled=enrolled) > 0.99)
    assert np.all(ka.measured_bit_errors(flipped, helper) < 0.01)
    assert ka.measured_key_failure([enrolled, flipped[:2]], helper).shape == (2,)


def test_failure_summary_share_above_a_target():
    summary = ka.failure_summary(MASKED, 0.15, 2000, seeds=(1, 2), candidates=CANDIDATES)
    assert summary.above(1e-9) == pytest.approx(np.mean(summary.per_device > 1e-9))
    assert summary.above(1.0) == 0.0 and summary.above(-1.0) == 1.0
