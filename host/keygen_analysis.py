"""Key-failure analysis of the construction and its alternatives (docs/keygen.md).

Two channel models (BENCHMARKS.md):

* **Hard decision**: every response bit flips with probability ``p`` (binary symmetric
  channel). Failure probabilities are binomial tails, exact.
* **Soft decision**: a bit is the sign of a margin ``m ~ N(0, 1)`` fixed at manufacture; a
  reading is ``y = m + e``, ``e ~ N(0, s^2)``, ``p = arctan(s) / pi``. Enrollment keeps the
  fraction ``keep`` of bits with the largest ``|m|`` (threshold ``tau``,
  ``keep = erfc(tau / sqrt 2)``), so a kept bit's aligned soft value ``z = sign(m) y`` has the
  density ``f(z) ~ phi(z / a) Q((tau - z / a^2) a / s)`` with ``a^2 = 1 + s^2``. The
  inner repetition fails when the sum of ``r`` aligned values is negative; its probability is
  computed by numerical convolution of ``f`` on a grid after exponential tilting (the tilted
  density has mean zero, so the tail is as accurate as the bulk, far below 1e-12). Enrollment
  noise from ``n_enrol`` averaged reads is the same model with ``s`` and ``tau`` replaced
  (:func:`soft_model_with_enrolment`).
"""

import functools
import math
from dataclasses import dataclass

import numpy as np

from ropuf.spec.bch_code import PRIMITIVE_POLYNOMIALS, bch_code
from ropuf.spec.checks import check_int
from ropuf.spec.code_params import CodeParams
from ropuf.spec.errors import RopufError

from .design_offsets import pair_thresholds
from .fuzzy import corrected_batch, decode_soft, encode_batch, pair_soft

__all__ = [
    "PERCENTILES",
    "AnalysisError",
    "Candidate",
    "FailureSummary",
    "bch_failure",
    "binomial_tail",
    "bsc_sigma",
    "device_averaged_failure",
    "device_failures",
    "failure_summary",
    "inner_error_soft",
    "measured_bit_errors",
    "measured_key_failure",
    "monte_carlo",
    "per_device_summary",
    "rm_failure_soft",
    "soft_model_with_enrolment",
]

_GRID = 0.002


class AnalysisError(RopufError):
    """An analysis was asked for something it cannot compute (bad probability, no code)."""


def bsc_sigma(p: float) -> float:
    """Noise sigma ``s = tan(pi p)`` of the soft model with average bit-error rate *p*."""
    if not 0.0 < p < 0.5:
        raise AnalysisError(f"Bit-error rate must be in (0, 0.5), not {p!r}")
    return math.tan(math.pi * p)


def soft_model_with_enrolment(s: float, keep: float, n_enrol: int) -> tuple[float, float]:
    """Equivalent ``(s, keep)`` when enrollment sees the margin through ``n_enrol`` reads.

    With ``m_hat = m + N(0, s^2 / n_enrol)``, the reference bit is ``sign(m_hat)`` and a
    reading aligned to it is ``kappa |m_hat| + N(0, v + s^2)``; rescaled, that is the exact
    model with ``s'^2 = s_e^2 + s^2 (1 + s_e^2)``, ``s_e^2 = s^2 / n_enrol``, and the same
    kept fraction.
    """
    if not isinstance(n_enrol, int) or n_enrol < 1:
        raise AnalysisError(f"Enrollment reads must be a positive integer, not {n_enrol!r}")
    se2 = s * s / n_enrol
    return math.sqrt(se2 + s * s * (1.0 + se2)), keep


def _q(x: np.ndarray) -> np.ndarray:
    erfc = np.frompyfunc(math.erfc, 1, 1)
    return (0.5 * erfc(np.asarray(x, dtype=float) / math.sqrt(2.0))).astype(float)


def _threshold(keep: float) -> float:
    if not 0.0 < keep <= 1.0:
        raise AnalysisError(f"Kept fraction must be in (0, 1], not {keep!r}")
    low, high = 0.0, 10.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if math.erfc(mid / math.sqrt(2.0)) > keep:
            low = mid
        else:
            high = mid
    return low


@functools.cache
def _aligned_density(s: float, keep: float) -> tuple[np.ndarray, np.ndarray]:
    tau = _threshold(keep) if keep < 1.0 else 0.0
    a = math.sqrt(1.0 + s * s)
    z = np.arange(-6.0 * s - 1.0, 9.0 + 6.0 * s, _GRID)
    f = np.exp(-z * z / (2.0 * a * a)) * _q((tau - z / (a * a)) / (s / a))
    return z, f / f.sum()


@functools.cache
def inner_error_soft(s: float, keep: float, r: int) -> float:
    """Probability that the soft sum of ``r`` kept bits has the wrong sign.

    Parameters
    ----------
    s : float
        Reading noise sigma (the margin has sigma 1).
    keep : float
        Fraction of bits kept at enrollment (1: no masking).
    r : int
        Repetition length.
    """
    z, f = _aligned_density(s, keep)
    low, high = -60.0, 0.0
    for _ in range(100):  # tilt so that the tilted mean is zero
        theta = 0.5 * (low + high)
        exponent = theta * z
        w = f * np.exp(exponent - exponent.max())
        if (w * z).sum() > 0:
            high = theta
        else:
            low = theta
    w = f * np.exp(theta * z)
    mgf = w.sum()
    tilted = w / mgf
    size = len(z) * r
    fft_size = 1 << math.ceil(math.log2(size))
    g = np.fft.irfft(np.fft.rfft(tilted, fft_size) ** r, fft_size)[:size]
    x = r * z[0] + np.arange(size) * _GRID
    below = x < 0
    return float(mgf**r * (np.clip(g[below], 0.0, None) * np.exp(-theta * x[below])).sum())


@functools.cache
def _tails(n: int, p: float) -> np.ndarray:
    i = np.arange(n + 1)
    log_choose = np.array(
        [math.lgamma(n + 1) - math.lgamma(j + 1) - math.lgamma(n - j + 1) for j in range(n + 1)]
    )
    pmf = np.exp(log_choose + i * math.log(p) + (n - i) * math.log1p(-p)) if p > 0 else None
    if pmf is None:
        return np.zeros(n + 1)
    return np.concatenate([np.cumsum(pmf[::-1])[::-1][1:], [0.0]])


def binomial_tail(n: int, p: float, t: int) -> float:
    """``P(Bin(n, p) > t)``."""
    if t >= n:
        return 0.0
    return float(_tails(n, p)[t])


def bch_failure(params: CodeParams, p: float, *, soft: bool = True, keep: float = 1.0) -> float:
    """Key-failure probability of a construction at raw bit-error rate *p*.

    Hard decision: each code bit is a majority of ``rep`` response bits (ties count as errors),
    ``p_in = P(Bin(rep, p) >= rep/2)``. Soft decision: ``p_in`` from :func:`inner_error_soft`
    with enrollment masking at *keep* (default 1: no masking, as the rank-pair constructions;
    *p* is then the error rate of the pairs' bits themselves). The bounded-distance BCH
    decoder fails when more than ``t`` code bits are wrong: ``P(Bin(n, p_in) > t)``, exact for
    independent bits.
    """
    if soft:
        p_in = inner_error_soft(bsc_sigma(p), keep, params.rep)
    else:
        r = params.rep
        p_in = binomial_tail(r, p, (r - 1) // 2)
    return binomial_tail(params.n, p_in, params.t)


def rm_failure_soft(m: int, r: int, s: float, keep: float) -> float:
    """Union bound on the block error of soft ML decoding of rep(r) + RM(1, m) (fast Hadamard
    transform): ``(2^(m+1) - 2) P2(r 2^(m-1)) + P2(r 2^m)``, ``P2(w)`` the probability that
    ``w`` aligned soft values sum below zero."""
    n = 1 << m
    return ((1 << (m + 1)) - 2) * inner_error_soft(s, keep, r * n // 2) + inner_error_soft(
        s, keep, r * n
    )


@dataclass(frozen=True)
class Candidate:
    """One construction in the comparison: its name, response bits consumed, secret bits, code
    bits carrying the offset, and key-failure probability."""

    name: str
    consumed: float
    secret_bits: int
    code_bits: int
    failure: float


def _full_length_codes(gf_m: int):
    """``(t, code)`` for the full-length BCH codes over GF(2^gf_m), t = 1, 2, ... while one
    exists."""
    order = (1 << gf_m) - 1
    for t in range(1, order // 2):
        try:
            code = bch_code(gf_m, t, order)
        except ValueError:
            return
        yield t, code


def best_bch(
    p_in: float, r: int, keep: float, secret: int, target: float, fields=(6, 7, 8, 9)
) -> Candidate | None:
    """Fewest consumed response bits over shortened BCH codes (one or more blocks) that carry
    *secret* bits at key failure <= *target*, given the code-bit error rate *p_in*."""
    best = None
    for gf_m in fields:
        for t, code in _full_length_codes(gf_m):
            for blocks in range(1, 9):
                k = math.ceil(secret / blocks)
                if k > code.k:
                    continue
                n = code.n - (code.k - k)
                failure = blocks * binomial_tail(n, p_in, t)
                if failure <= target:
                    consumed = blocks * n * r / keep
                    if best is None or consumed < best.consumed:
                        name = f"{blocks} x BCH({n},{k},t={t})"
                        best = Candidate(name, consumed, blocks * k, blocks * n, failure)
                    break
    return best


def monte_carlo(
    params: CodeParams,
    p: float,
    trials: int,
    *,
    rng: np.random.Generator,
    candidates: int,
    n_enrol: int | None = None,
    scale: float = 1000.0,
    chunk: int = 50_000,
) -> tuple[int, int, int]:
    """Simulated enrollments and reconstructions under the soft model, full decoder, of the
    masked construction (:func:`device_failures`).

    Each trial draws a device (*candidates* margins), enrols it (balanced selection of
    the largest ``|margin|``, measured exactly or as the mean of ``n_enrol`` reads), encodes a
    random message, reads the selected pairs once (soft values ``round(scale * y)``, saturated
    to ``soft_width``) and decodes.

    Returns
    -------
    (failures, flagged, wrong_unflagged)
        Key failures (decoder flag or wrong message), those the decoder flagged, and wrong
        messages it did not flag (the key-check value catches those at reconstruction).
    """
    s = bsc_sigma(p)
    n_sel = params.selected_bits
    ones = n_sel // 2
    limit = 2 ** (params.soft_width - 1) - 1
    failures = flagged = wrong = 0
    done = 0
    while done < trials:
        size = min(chunk, trials - done)
        margin = rng.standard_normal((size, candidates))
        seen = margin
        if n_enrol is not None:
            seen = margin + s / math.sqrt(n_enrol) * rng.standard_normal(margin.shape)
        magnitude = np.abs(seen)
        positive = seen > 0
        pos_rank = np.argsort(np.where(positive, -magnitude, np.inf), axis=1)[:, :ones]
        neg_rank = np.argsort(np.where(positive, np.inf, -magnitude), axis=1)[:, : n_sel - ones]
        selected = np.sort(np.concatenate([pos_rank, neg_rank], axis=1), axis=1)
        bits = np.take_along_axis(positive, selected, axis=1).astype(np.uint8)
        message = rng.integers(0, 2, (size, params.k), dtype=np.uint8)
        codeword = encode_batch(message, params)
        offset = bits ^ np.repeat(codeword, params.rep, axis=1)
        reading = np.take_along_axis(margin, selected, axis=1)
        reading = reading + s * rng.standard_normal(reading.shape)
        soft = np.clip(np.rint(scale * reading), -limit, limit).astype(np.int64)
        decoded, failed = decode_soft(soft, offset, params)
        bad = np.any(decoded != message, axis=1)
        failures += int(np.count_nonzero(failed | bad))
        flagged += int(np.count_nonzero(failed))
        wrong += int(np.count_nonzero(bad & ~failed))
        done += size
    return failures, flagged, wrong


def fields_available() -> list[int]:
    """BCH field degrees the analysis searches (those with a primitive polynomial)."""
    return sorted(PRIMITIVE_POLYNOMIALS)


def corner_error_probabilities(dies, temperature: float, relative_supply: float) -> np.ndarray:
    """Per-pair error probability at a corner, pairs ranked by enrollment reliability.

    Enrollment is at 25 C and nominal supply and knows each neighbour pair's noise-free
    difference (many averaged reads). A reading at the corner errs with probability
    ``Q(sign(d_25) d_corner / sigma)``, ``sigma = sqrt(2) jitter f`` (the common noise cancels).

    Returns
    -------
    numpy.ndarray, shape (n_dies, n_ro // 2)
        Each die's pair error probabilities, sorted from the most reliable pair at enrollment.
    """
    rows = []
    for die in dies:
        f25 = die.frequencies(25.0)
        corner = die.frequencies(temperature, relative_supply * die.params.v_nominal)
        d25 = f25[0::2] - f25[1::2]
        dc = corner[0::2] - corner[1::2]
        sigma = math.sqrt(2.0) * die.params.jitter_sigma * 0.5 * (corner[0::2] + corner[1::2])
        q = _q(np.sign(d25) * dc / sigma)
        order = np.argsort(-np.abs(d25) / sigma, kind="stable")
        rows.append(q[order])
    return np.array(rows)


def _poisson_binomial_tail(p: np.ndarray, t: int) -> np.ndarray:
    # P(more than t of the independent events in each row), rows of p: (n_dies, n).
    dist = np.zeros((p.shape[0], t + 2))
    dist[:, 0] = 1.0
    for j in range(p.shape[1]):
        q = p[:, j : j + 1]
        shifted = np.concatenate([np.zeros((p.shape[0], 1)), dist[:, :-1]], axis=1)
        overflow = dist[:, -1:] * q
        dist = dist * (1 - q) + shifted * q
        dist[:, -1:] += overflow
    return dist[:, t + 1]


def silicon_key_length(ranked: np.ndarray, target: float = 1e-9, fields=(5, 6, 7, 8)):
    """Longest secret reachable from one BCH block at mean key failure <= *target*.

    The code bits are the ``n`` most reliable pairs (``rep = 1``: the corner errors of the
    silicon model are too few for repetition to pay). Returns ``(k, code name, mean failure,
    worst die's failure)`` or ``None`` when no code reaches the target.
    """
    best = None
    pairs = ranked.shape[1]
    for gf_m in fields:
        for t, code in _full_length_codes(gf_m):
            top = min(code.n, pairs)
            if top <= code.parity_bits:
                break
            for n in range(top, code.parity_bits, -1):
                # the n most reliable pairs, in any order: the tail does not depend on it
                per_die = _poisson_binomial_tail(ranked[:, :n], t)
                if per_die.mean() <= target:
                    k = n - code.parity_bits
                    if best is None or k > best[0]:
                        name = f"BCH({n},{k},t={t}) over GF(2^{gf_m})"
                        best = (k, name, float(per_die.mean()), float(per_die.max()))
                    break
    return best


def device_failures(
    params: CodeParams,
    p: float,
    devices: int,
    *,
    rng: np.random.Generator,
    candidates: int,
    enrol_reads: int | None = None,
) -> np.ndarray:
    """Each simulated device's own key failure, exact over the reading noise, for the *masked*
    construction: *candidates* independent response bits of the BENCHMARKS soft model of which
    enrollment keeps ``selected_bits`` (the construction of helper data v2, kept as the
    comparison rank pairing is measured against; rank pairing's own figures are
    :mod:`ropuf.host.pairing_analysis`).

    Each device draws its margins and keeps the balanced top ``selected_bits`` by ``|m|``
    (the per-device quantile enrollment really uses, not a fixed threshold); its failure is
    then exact: ``P(more than t of the kept bits err)``, bit ``i`` erring with
    ``Q(|m_i| / s)`` (``rep = 1``). No rare-event problem: each device's figure is computed,
    not counted.

    With *enrol_reads* = N, enrollment sees each margin through the mean of N reads,
    ``m_hat = m + s z / sqrt(N)``: it selects by ``|m_hat|`` (balanced by the sign of
    ``m_hat``) and enrols ``sign(m_hat)``; a kept bit then errs with ``Q(|m| / s)`` when that
    sign is right and ``1 - Q(|m| / s)`` when it is wrong. Still exact per device.

    Returns
    -------
    numpy.ndarray, shape (devices,)
        The key-failure probability of every device (see :func:`failure_summary`).
    """
    if params.rep != 1:
        raise AnalysisError(f"Device averaging handles rep = 1 only, not {params.rep!r}")
    if not isinstance(devices, int) or devices < 2:
        raise AnalysisError(f"Devices must be an integer of at least 2, not {devices!r}")
    s = bsc_sigma(p)
    check_int("Candidates", candidates, params.selected_bits, 65535)
    if enrol_reads is not None:
        return _failures_with_enrol_reads(params, s, devices, rng, enrol_reads, candidates)
    margin = np.abs(rng.standard_normal((devices, candidates)))
    sign = rng.integers(0, 2, margin.shape).astype(bool)
    ones = params.selected_bits // 2
    kept = np.concatenate(
        [
            -np.sort(np.where(sign, -margin, 0.0), axis=1)[:, :ones],
            -np.sort(np.where(sign, 0.0, -margin), axis=1)[:, : params.selected_bits - ones],
        ],
        axis=1,
    )
    return _poisson_binomial_tail(_q(kept / s), params.t)


def device_averaged_failure(
    params: CodeParams,
    p: float,
    devices: int,
    *,
    rng: np.random.Generator,
    candidates: int,
    enrol_reads: int | None = None,
) -> tuple[float, float]:
    """Key failure averaged over simulated devices (:func:`device_failures`): the mean and
    its standard error. The per-device tail is heavy, so the standard error understates the
    spread between runs; :func:`failure_summary` gives the percentiles as well."""
    per_device = device_failures(
        params, p, devices, rng=rng, candidates=candidates, enrol_reads=enrol_reads
    )
    return float(per_device.mean()), float(per_device.std(ddof=1) / math.sqrt(devices))


#: Per-device percentiles the benchmarks report (BENCHMARKS.md, "Per device").
PERCENTILES = (50.0, 99.0, 99.9)


@dataclass(frozen=True)
class FailureSummary:
    """Key failure over simulated devices: the mean, its spread across independent runs, and
    the per-device percentiles (pooled over the runs).

    Attributes
    ----------
    mean : float
        Mean over all devices of all runs.
    run_means : tuple of float
        Each run's mean (one seed each).
    spread : float
        Standard deviation of the run means (the honest +- of one run's mean).
    percentiles : dict
        ``{50.0: ..., 99.0: ..., 99.9: ...}``: the per-device failure below which that share
        of devices lies.
    devices : int
        Devices in all runs together.
    per_device : numpy.ndarray
        Every device's failure, all runs pooled.
    """

    mean: float
    run_means: tuple[float, ...]
    spread: float
    percentiles: dict
    devices: int
    per_device: np.ndarray

    def above(self, target: float) -> float:
        """Share of devices whose failure is above *target* (enrollment would refuse them)."""
        return float(np.mean(self.per_device > target))


def failure_summary(
    params: CodeParams,
    p: float,
    devices: int,
    seeds,
    *,
    candidates: int,
    enrol_reads: int | None = None,
) -> FailureSummary:
    """:func:`device_failures` run once per seed in *seeds* (at least 2), summarised."""
    seeds = list(seeds)
    if len(seeds) < 2:
        raise AnalysisError(f"A spread across runs needs at least 2 seeds, not {seeds!r}")
    runs = [
        device_failures(
            params,
            p,
            devices,
            rng=np.random.default_rng(seed),
            candidates=candidates,
            enrol_reads=enrol_reads,
        )
        for seed in seeds
    ]
    # Every run holds *devices* devices, so splitting the pool in len(seeds) gives the runs back.
    return per_device_summary(np.concatenate(runs), runs=len(seeds))


def per_device_summary(per_device, runs: int = 4) -> FailureSummary:
    """:class:`FailureSummary` of per-device failures, the devices split into *runs* runs."""
    per_device = np.asarray(per_device, dtype=np.float64)
    means = tuple(float(r.mean()) for r in np.array_split(per_device, runs))
    return FailureSummary(
        mean=float(per_device.mean()),
        run_means=means,
        spread=float(np.std(means, ddof=1)),
        percentiles={q: float(np.percentile(per_device, q)) for q in PERCENTILES},
        devices=len(per_device),
        per_device=per_device,
    )


def _failures_with_enrol_reads(
    params: CodeParams,
    s: float,
    devices: int,
    rng: np.random.Generator,
    reads: int,
    candidates: int,
) -> np.ndarray:
    if not isinstance(reads, int) or reads < 1:
        raise AnalysisError(f"Enrollment reads must be a positive integer, not {reads!r}")
    margin = rng.standard_normal((devices, candidates))
    estimate = margin + s * rng.standard_normal(margin.shape) / math.sqrt(reads)
    ones = params.selected_bits // 2
    kept = []
    for value, count in ((True, ones), (False, params.selected_bits - ones)):
        # Largest |m_hat| among the pairs enrolled as *value*; others pushed to the end.
        key = np.where((estimate > 0) == value, -np.abs(estimate), np.inf)
        kept.append(np.argsort(key, axis=1, kind="stable")[:, :count])
    index = np.concatenate(kept, axis=1)
    true = np.take_along_axis(margin, index, axis=1)
    enrolled = np.take_along_axis(estimate, index, axis=1)
    q = _q(np.abs(true) / s)
    error = np.where((true > 0) == (enrolled > 0), q, 1.0 - q)
    return _poisson_binomial_tail(error, params.t)


def measured_bit_errors(reads, helper, *, enrolled=None, offsets=None) -> np.ndarray:
    """Error probability of each code bit of an enrolled device at one condition.

    A pair's enrolled bit is the sign of its mean corrected soft value over *enrolled*
    (default: *reads*), as :func:`ropuf.host.keygen.enrol` set it: ``count_a - count_b`` of
    the helper data's pair, saturated, less its design threshold ``offsets[a] - offsets[b]``.
    At the condition, a pair's corrected soft value is modelled as Gaussian with the mean and
    read-to-read spread (at least 0.5 count) of *reads*; an integer value ``y`` gives the
    decoder ``2y - 1``, so bit 1 needs ``y >= 1`` and bit 0 ``y <= 0``: the boundary is 0.5. A
    code bit of ``rep`` pairs errs when the sum of its aligned soft values has the wrong sign
    (Gaussian; for ``rep = 1`` that is the pair's own error probability).

    Parameters
    ----------
    reads : array_like, shape (n_reads >= 2, n_ro >= params.ros)
        Per-RO counts read at the condition.
    helper : ropuf.spec.helper_data.HelperData
        The device's helper data (pairs, code).
    enrolled : array_like, shape (n_enrol >= 2, n_ro >= params.ros), optional
        The counts enrollment took the bits from.
    offsets : sequence of int, optional
        The device build's integer design offsets
        (:attr:`ropuf.spec.device_config.DeviceConfig.offsets`); None: zeros.

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    params = helper.params
    values = _helper_soft(_checked_reads(reads, params.ros), helper, offsets)
    reference = (
        values
        if enrolled is None
        else _helper_soft(_checked_reads(enrolled, params.ros), helper, offsets)
    )
    sign = np.where(reference.mean(axis=0) > 0, 1.0, -1.0)
    distance = sign * (values.mean(axis=0) - 0.5)
    variance = np.maximum(values.std(axis=0, ddof=1), 0.5) ** 2
    code_distance = distance.reshape(params.n, params.rep).sum(axis=1)
    code_sigma = np.sqrt(variance.reshape(params.n, params.rep).sum(axis=1))
    return _q(code_distance / code_sigma)


def _helper_soft(counts: np.ndarray, helper, offsets) -> np.ndarray:
    # Corrected soft values of the helper's pairs, as the device's decoder takes them.
    width = helper.params.soft_width
    soft = pair_soft(np.rint(counts).astype(np.int64), helper.pairs, width)
    thresholds = pair_thresholds(offsets, helper.pairs)
    return corrected_batch(soft, thresholds, width).astype(np.float64)


def _checked_reads(reads, ros: int) -> np.ndarray:
    array = np.asarray(reads, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 2 or array.shape[1] < ros:
        raise AnalysisError(
            f"Reads must have shape (n_reads >= 2, n_ro >= {ros}), not {array.shape!r}"
        )
    return array


def measured_key_failure(reads_by_condition, helper, offsets=None) -> np.ndarray:
    """One enrolled device's predicted key failure at each condition it was read at.

    The exact per-device computation of :func:`device_failures`, on the device's own measured
    margins instead of drawn ones: the enrolled bits come from the mean over all reads (as
    enrollment pooled them), each code bit's error probability at a condition from
    :func:`measured_bit_errors`, and the key fails when more than ``t`` of the ``n`` code bits
    err (Poisson-binomial tail, exact for independent readings).

    Parameters
    ----------
    reads_by_condition : sequence of array_like, each (n_reads >= 2, n_ro >= params.ros)
        The enrollment's per-RO counts, one array per condition read.
    helper : ropuf.spec.helper_data.HelperData
        The helper data enrollment derived from them (pairs, code).
    offsets : sequence of int, optional
        The device build's integer design offsets; None: zeros.

    Returns
    -------
    numpy.ndarray, shape (conditions,)
        The key-failure probability predicted for a reconstruction at each condition.

    Raises
    ------
    AnalysisError
        No reads, or reads of fewer ROs than the helper data's pairs use.
    """
    ros = helper.params.ros
    arrays = [_checked_reads(r, ros) for r in reads_by_condition]
    if not arrays:
        raise AnalysisError(
            f"Reads must be one or more arrays of shape (n_reads >= 2, n_ro >= {ros})"
        )
    width = min(a.shape[1] for a in arrays)
    pooled = np.concatenate([a[:, :width] for a in arrays])
    errors = np.array(
        [measured_bit_errors(r, helper, enrolled=pooled, offsets=offsets) for r in arrays]
    )
    return _poisson_binomial_tail(errors, helper.params.t)
