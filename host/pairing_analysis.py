"""Key failure and leakage of rank pairing (:mod:`ropuf.spec.pairing`), per device.

Enrollment ranks each batch of neighbouring ROs by averaged counts and pairs slow ranks with
fast ranks (:meth:`RankPairing.choose`); the key bits are the pairs' comparisons, ``rep = 1``,
carried by one shortened BCH code (code offset). The functions here take arrays, not dies, so
that the silicon model (``ropuf.sim.silicon``), the 15 % soft benchmark and the measured
HOST 2010 chips all go through the same computation; ``benchmarks/bench_pairing.py`` feeds them.

A pair ``(a, b)`` read once at a condition compares ``f_a (1 + c + e_a)`` with
``f_b (1 + c + e_b)``: the shared noise ``c`` scales both and cannot flip the comparison, the
RO jitter gives the difference the spread ``jitter * sqrt(f_a^2 + f_b^2)``. The enrolled bit
is the comparison of the enrollment means, so a pair errs with ``Q(d / sigma)`` where ``d`` is
the condition's noise-free difference signed by the enrolled bit (above one half when the
enrollment got the bit wrong). The key fails when more than ``t`` of the ``n`` bits err, exact
per device (Poisson-binomial tail, as :func:`ropuf.host.keygen_analysis.device_failures`).
"""

import math

import numpy as np

from ropuf.spec.bch_code import bch_code
from ropuf.spec.helper_data import CRC_BYTES, HEADER, KCV_BYTES
from ropuf.spec.pairing import RankPairing

from . import metrics
from .keygen_analysis import (
    AnalysisError,
    _poisson_binomial_tail,
    _q,
    per_device_summary,
)

__all__ = [
    "coefficient_averaged_errors",
    "corner_sum_failures",
    "enrol_pairs",
    "fleet_leakage",
    "helper_bytes",
    "layout_offsets",
    "measured_pair_errors",
    "pair_bits",
    "pair_error_probabilities",
    "per_device_summary",
    "rank_pair_failures",
    "smallest_code",
    "soft_benchmark_errors",
]


def enrol_pairs(means, pairing: RankPairing, pairs: int) -> np.ndarray:
    """Every device's pair list from its averaged counts (:meth:`RankPairing.choose`).

    Parameters
    ----------
    means : array_like, shape (n_dies, n_ro)
        Averaged counts (or frequencies) at enrollment.
    pairing : RankPairing
    pairs : int
        Pairs per device (a multiple of ``pairing.per_batch``).

    Returns
    -------
    numpy.ndarray of int, shape (n_dies, pairs, 2)
        Global RO indices ``(a, b)``, ``a < b``, canonical order.
    """
    means = np.asarray(means, dtype=np.float64)
    if means.ndim != 2:
        raise AnalysisError(f"Means must have shape (n_dies, n_ro), not {means.shape!r}")
    return np.array([pairing.choose(row, pairs) for row in means], dtype=np.int64).reshape(
        len(means), pairs, 2
    )


def helper_bytes(pairing: RankPairing, n: int) -> int:
    """Bytes of a rank-pair helper record of ``n`` pairs, for a code not chosen yet: the fields
    of :class:`~ropuf.spec.helper_data.RecordLayout` (header, the pair list, the ``n``-bit code
    offset, key-check value, CRC-32)."""
    return HEADER.size + pairing.list_bytes(n) + (n + 7) // 8 + KCV_BYTES + CRC_BYTES


def layout_offsets(relative, columns: int, *, per_ro: bool = True) -> np.ndarray:
    """A design's shared offsets from a characterisation of dies that are not enrolled.

    *relative*: (dies, n_ro) each die's values relative to its own mean (``v / mean - 1``).
    With *per_ro*, the mean over dies of each RO (one value per RO); otherwise only its row and
    column means (``rows + columns`` values: the fabric structure, small enough for helper data).
    Subtracting them before ranking removes the bias every die of the design shares.
    """
    relative = np.asarray(relative, dtype=np.float64)
    mean = relative.mean(axis=0)
    if per_ro:
        return mean
    grid = mean.reshape(-1, columns)
    rows, cols = grid.mean(axis=1, keepdims=True), grid.mean(axis=0, keepdims=True)
    return (rows + cols - grid.mean()).ravel()


def pair_bits(values, pair_list) -> np.ndarray:
    """Response bits of each device's pairs: 1 when RO ``a`` (the lower index) is larger.

    *values*: (n_dies, n_ro); *pair_list*: (n_dies, pairs, 2). Returns uint8 (n_dies, pairs).
    """
    values = np.asarray(values, dtype=np.float64)
    a = np.take_along_axis(values, pair_list[:, :, 0], axis=1)
    b = np.take_along_axis(values, pair_list[:, :, 1], axis=1)
    return (a > b).astype(np.uint8)


def pair_error_probabilities(enrolled_bits, frequencies, pair_list, jitter) -> np.ndarray:
    """Each pair's probability of reading other than its enrolled bit at one condition.

    Parameters
    ----------
    enrolled_bits : array_like of {0, 1}, shape (n_dies, pairs)
    frequencies : array_like, shape (n_dies, n_ro)
        Noise-free frequencies (or RO values) at the condition.
    pair_list : numpy.ndarray of int, shape (n_dies, pairs, 2)
    jitter : float or array_like of shape (n_dies, 1)
        Relative per-read noise of one RO (the silicon model's ``jitter_sigma``).

    Returns
    -------
    numpy.ndarray, shape (n_dies, pairs)
        ``Q(s d / (jitter sqrt(f_a^2 + f_b^2)))``, ``s = +1`` for enrolled bit 1, else -1.
    """
    f = np.asarray(frequencies, dtype=np.float64)
    fa = np.take_along_axis(f, pair_list[:, :, 0], axis=1)
    fb = np.take_along_axis(f, pair_list[:, :, 1], axis=1)
    sign = np.where(np.asarray(enrolled_bits) > 0, 1.0, -1.0)
    sigma = np.asarray(jitter, dtype=np.float64) * np.sqrt(fa * fa + fb * fb)
    return _q(sign * (fa - fb) / sigma)


def measured_pair_errors(enrolled_bits, differences) -> np.ndarray:
    """Pair error probabilities from measured reads: ``Q(s mean / std)`` of each pair's
    read differences ``a - b`` (Gaussian), ``s`` the enrolled bit's sign.

    *enrolled_bits*: (n_dies, n); *differences*: (n_dies, n, reads >= 2)."""
    d = np.asarray(differences, dtype=np.float64)
    if d.ndim != 3 or d.shape[2] < 2:
        raise AnalysisError(f"Differences must have shape (dies, n, reads >= 2), not {d.shape!r}")
    sign = np.where(np.asarray(enrolled_bits) > 0, 1.0, -1.0)
    return _q(sign * d.mean(axis=2) / d.std(axis=2, ddof=1))


def soft_benchmark_errors(
    pairing: RankPairing, pairs: int, p: float, devices: int, *, enrol_reads: int, rng
) -> np.ndarray:
    """Pair error probabilities of rank pairing under the soft benchmark (BENCHMARKS.md).

    RO values ``v ~ N(0, 1/2)`` and per-read RO noise ``N(0, s^2 / 2)``, ``s = tan(pi p)``, so
    that a fixed pair's margin is ``N(0, 1)``, its reading noise ``N(0, s^2)`` and its average
    bit-error rate *p*. Enrollment ranks the means of *enrol_reads* reads; a pair then errs with
    ``Q(+-(v_a - v_b) / s)`` (exact per device).

    Returns
    -------
    numpy.ndarray, shape (devices, pairs)
    """
    if not 0.0 < p < 0.5:
        raise AnalysisError(f"Bit-error rate must be in (0, 0.5), not {p!r}")
    s = math.tan(math.pi * p)
    n_ro = pairing.ros(pairs)
    value = rng.standard_normal((devices, n_ro)) * math.sqrt(0.5)
    means = value + rng.standard_normal(value.shape) * s / math.sqrt(2.0 * enrol_reads)
    pair_list = _fast_choose(means, pairing, pairs)
    bits = pair_bits(means, pair_list)
    # absolute noise: sqrt(f_a^2 + f_b^2) * jitter must be s, whatever the values
    fa = np.take_along_axis(value, pair_list[:, :, 0], axis=1)
    fb = np.take_along_axis(value, pair_list[:, :, 1], axis=1)
    return _q(np.where(bits > 0, 1.0, -1.0) * (fa - fb) / s)


def _fast_choose(means: np.ndarray, pairing: RankPairing, pairs: int) -> np.ndarray:
    # RankPairing.choose for many devices at once (tests check it equals the spec's).
    devices = len(means)
    batches = pairing.batches(pairs)
    grouped = means[:, : batches * pairing.batch].reshape(devices, batches, pairing.batch)
    order = np.argsort(grouped, axis=2, kind="stable")
    slow = order[:, :, : pairing.per_batch]
    fast = order[:, :, pairing.batch - pairing.per_batch :]
    low, high = np.minimum(slow, fast), np.maximum(slow, fast)
    sort = np.argsort(low, axis=2)
    low = np.take_along_axis(low, sort, axis=2)
    high = np.take_along_axis(high, sort, axis=2)
    base = (np.arange(batches) * pairing.batch)[None, :, None]
    return np.stack([low + base, high + base], axis=3).reshape(devices, pairs, 2)


def coefficient_averaged_errors(gaps, shift_sigma: float, read_sigma: float) -> np.ndarray:
    """Pair error probabilities at a condition averaged over the ROs' coefficients.

    A pair's relative gap at enrollment ``g`` (signed by the enrolled bit) moves at the
    condition by ``(alpha_a - alpha_b) dT + (beta_a - beta_b) dV / V``, Gaussian with std
    *shift_sigma* (``sqrt 2`` times the coefficient spreads; the mean coefficients scale both
    ROs alike), and one reading adds noise of std *read_sigma*: the reading errs with
    ``Q(g / sqrt(shift_sigma^2 + read_sigma^2))`` over both. Disjoint pairs have independent
    coefficients, so these probabilities are independent and the Poisson-binomial tail of a
    die's row is its failure *averaged over the coefficient draws*: the mean over dies that a
    sample of a few thousand dies cannot resolve near 1e-9 (its tail is a few dies whose
    coefficients happen to cross several pairs).
    """
    spread = math.hypot(shift_sigma, read_sigma)
    if not spread > 0:
        raise AnalysisError(f"The spreads must not both be zero: {shift_sigma!r}, {read_sigma!r}")
    return _q(np.asarray(gaps, dtype=np.float64) / spread)


def corner_sum_failures(errors, t: int) -> np.ndarray:
    """Per die, the sum over corners of the failure (an upper bound on its worst corner's).

    *errors*: (corners, n_dies, n)."""
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim != 3:
        raise AnalysisError(f"Errors must have shape (corners, dies, n), not {errors.shape!r}")
    return np.sum([_poisson_binomial_tail(e, t) for e in errors], axis=0)


def rank_pair_failures(errors, t: int) -> np.ndarray:
    """Per-device key failure: P(more than *t* of the pair bits err), bits independent.

    *errors*: (n_dies, n) per-bit error probabilities, or (corners, n_dies, n), in which case
    each device's worst corner is returned."""
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim == 2:
        return _poisson_binomial_tail(errors, t)
    if errors.ndim != 3:
        raise AnalysisError(f"Errors must have 2 or 3 dimensions, not {errors.shape!r}")
    return np.max([_poisson_binomial_tail(e, t) for e in errors], axis=0)


def smallest_code(errors, *, averaged=None, k_min: int = 128, gf_m: int = 8, target=1e-9):
    """The smallest ``t`` whose BCH(n, n - parity, t) over GF(2^gf_m), ``n`` the columns of
    *errors*, has ``k >= k_min``, 99.9th-percentile per-device failure <= *target* on
    *errors* (as :func:`rank_pair_failures` takes them) and, when *averaged* is given
    ((corners, dies, n), e.g. :func:`coefficient_averaged_errors` with doubled spreads),
    mean over dies of :func:`corner_sum_failures` <= *target* on it.

    Returns ``(t, k, summary, averaged summary or None)`` or ``None`` when no ``t`` qualifies.
    """
    errors = np.asarray(errors, dtype=np.float64)
    n = errors.shape[-1]
    t = 1
    while True:
        try:
            code = bch_code(gf_m, t, n)
        except ValueError:
            return None
        if code.k < k_min:
            return None
        summary = per_device_summary(rank_pair_failures(errors, t))
        if summary.percentiles[99.9] <= target:
            second = None
            if averaged is not None:
                second = per_device_summary(corner_sum_failures(averaged, t))
            if second is None or second.mean <= target:
                return t, code.k, summary, second
        t += 1


def fleet_leakage(bits, pair_list, values) -> dict:
    """What a fleet reveals about one device's bits given its pair list.

    Parameters
    ----------
    bits : array_like of {0, 1}, shape (n_dies, n)
        Each die's enrolled response bits.
    pair_list : numpy.ndarray of int, shape (n_dies, n, 2)
    values : array_like, shape (n_dies, n_ro)
        Each die's enrollment means (for the layout guess).

    Returns
    -------
    dict
        ``position_ones``: per list position, fraction of dies with bit 1 (n,);
        ``position_entropy``: mean of their min-entropies; ``fair_entropy``: the estimator's
        ceiling for fair bits (:func:`metrics.fair_min_entropy_estimate`);
        ``fleet_key_bits``: sum over positions of the min-entropy estimate (before the code
        offset's disclosure); ``same_pair_guess``: hit rate of guessing each bit as the
        majority of the other dies that chose the same pair (1/2 when none did or they tie);
        ``same_pair_share``: fraction of bits for which another die chose the same pair;
        ``layout_guess``: hit rate of guessing bit 1 when, over the other dies, RO ``a``'s
        normalised mean exceeds RO ``b``'s (what a design's shared layout gives away).
    """
    bits = np.asarray(bits, dtype=np.uint8)
    dies, n = bits.shape
    if dies < 2:
        raise AnalysisError("Leakage needs at least 2 dies")
    ones = bits.mean(axis=0)
    position = metrics.bitwise_min_entropy(bits)
    n_ro = np.asarray(values).shape[1]
    key = pair_list[:, :, 0] * n_ro + pair_list[:, :, 1]
    # same-pair majority: per pair id, the fleet's ones and count, less the die's own
    flat = key.ravel()
    ids, inverse = np.unique(flat, return_inverse=True)
    count = np.bincount(inverse, minlength=len(ids))
    total = np.bincount(inverse, weights=bits.ravel().astype(float), minlength=len(ids))
    others = (count[inverse] - 1).reshape(dies, n)
    others_ones = (total[inverse] - bits.ravel()).reshape(dies, n)
    vote = np.where(2 * others_ones > others, 1.0, np.where(2 * others_ones < others, 0.0, 0.5))
    hit = np.where(vote == 0.5, 0.5, (vote == bits).astype(float))
    # layout guess: leave-one-out mean of per-die normalised values
    v = np.asarray(values, dtype=np.float64)
    z = (v - v.mean(axis=1, keepdims=True)) / v.std(axis=1, keepdims=True)
    loo = (z.sum(axis=0)[None, :] - z) / (dies - 1)
    la = np.take_along_axis(loo, pair_list[:, :, 0], axis=1)
    lb = np.take_along_axis(loo, pair_list[:, :, 1], axis=1)
    layout = ((la > lb).astype(np.uint8) == bits).mean()
    return {
        "position_ones": ones,
        "position_entropy": float(position.mean()),
        "fair_entropy": metrics.fair_min_entropy_estimate(dies),
        "fleet_key_bits": float(position.sum()),
        "same_pair_guess": float(hit.mean()),
        "same_pair_share": float((others > 0).mean()),
        "layout_guess": float(layout),
    }
